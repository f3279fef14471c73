// Command-line parsing shared by every command: --config FILE, --help, --dump-config, the table's flags
// (--family vit, --n=1000) and key.path=value overrides; anything else is a positional argument.
#pragma once

#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "trainer/config/option_table.h"

namespace tal {

struct CommandLine {
  std::string config_file;
  bool help = false;
  bool dump_config = false;
  std::vector<RawSetting> overrides;  // flags and key=value, in order
  std::vector<std::string> positionals;
};

struct FlagInfo {
  std::string key;
  bool is_bool = false;
};

// `lookup_flag` maps "--family" to its key (empty key: not a flag of this command). An argument is an override
// when the text before its first '=' is a key (no ':'), so `ancestry.arch=vit:depth=2` is an override and a spec
// such as `vit:depth=6` stays positional.
CommandLine parse_command_line(const std::vector<std::string>& args,
                               const std::function<FlagInfo(const std::string&)>& lookup_flag);

template <class Opts>
CommandLine parse_command_line(const OptionTable<Opts>& table, const std::vector<std::string>& args) {
  return parse_command_line(args, [&](const std::string& flag) {
    const auto* o = table.find_flag(flag);
    return o ? FlagInfo{o->key, o->type == OptType::Bool} : FlagInfo{};
  });
}

// Settings from the environment for the keys a table has (TAL_DATA_MEMORY_LIMIT -> data.memory_limit).
std::vector<RawSetting> environment_settings(const std::function<bool(const std::string& key)>& has_key,
                                             const std::function<const char*(const char*)>& getenv_fn);

// Throws for a flag or override the command does not read (OptionTable::set_used).
void refuse_unused(const std::vector<RawSetting>& overrides, const std::function<bool(const std::string&)>& known,
                   const std::function<bool(const std::string&)>& used, const std::string& command,
                   const std::vector<std::string>& sections);
// A config file that holds no settings at all is almost always a mistake: say so on stderr.
void warn_if_empty(const std::string& path, const std::vector<RawSetting>& settings);

// Defaults < environment < YAML file < command line, then the struct's own cross-field validate().
template <class Opts>
Opts resolve_options(const OptionTable<Opts>& table, const CommandLine& cl) {
  refuse_unused(cl.overrides, [&](const std::string& k) { return table.find(k) != nullptr; },
                [&](const std::string& k) { return table.uses(k); }, table.command(), table.used());
  Opts opts = table.defaults();
  table.apply(opts, environment_settings([&](const std::string& k) { return table.find(k) != nullptr; },
                                         [](const char* name) { return std::getenv(name); }));
  if (!cl.config_file.empty()) {
    const auto settings = read_yaml_settings(cl.config_file);
    warn_if_empty(cl.config_file, settings);
    table.apply(opts, settings);
  }
  table.apply(opts, cl.overrides);
  opts.validate(cl.config_file.empty() ? std::string("command line") : cl.config_file);
  return opts;
}

// Prints the usage line and the generated option table; returns 0.
int print_help(const std::string& usage, const std::string& table_help);

// The common head of a command: parses `args`, prints --help, rejects positional arguments, resolves the options
// and prints --dump-config. Returns nullopt when the command has nothing more to do.
template <class Opts>
std::optional<Opts> command_options(const OptionTable<Opts>& table, const std::vector<std::string>& args,
                                    const std::string& usage) {
  const auto cl = parse_command_line(table, args);
  if (cl.help) {
    print_help(usage, table.help());
    return std::nullopt;
  }
  if (!cl.positionals.empty()) throw Error("command line: unexpected argument '" + cl.positionals[0] + "'");
  auto o = resolve_options(table, cl);
  if (cl.dump_config) {
    std::cout << table.dump(o);
    return std::nullopt;
  }
  return o;
}

}  // namespace tal
