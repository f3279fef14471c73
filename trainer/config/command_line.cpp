#include "trainer/config/command_line.h"

#include <cstdio>

#include "base/error.h"

namespace tal {

CommandLine parse_command_line(const std::vector<std::string>& args,
                               const std::function<FlagInfo(const std::string&)>& lookup_flag) {
  CommandLine cl;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      cl.help = true;
    } else if (a == "--dump-config") {
      cl.dump_config = true;
    } else if (a == "--config" || a.rfind("--config=", 0) == 0) {
      if (a == "--config") {
        TAL_REQUIRE(i + 1 < args.size(), "command line: --config needs a file");
        cl.config_file = args[++i];
      } else {
        cl.config_file = a.substr(9);
      }
    } else if (a.rfind("--", 0) == 0) {
      const auto eq = a.find('=');
      const std::string flag = a.substr(0, eq);
      const FlagInfo info = lookup_flag(flag);
      TAL_REQUIRE(!info.key.empty(), "command line: unknown flag '", flag, "' (see --help)");
      RawSetting s{info.key, "", {}, false, "command line"};
      if (eq != std::string::npos) {
        s.text = a.substr(eq + 1);
      } else if (info.is_bool) {
        s.text = "true";
      } else {
        TAL_REQUIRE(i + 1 < args.size(), "command line: ", flag, " needs a value");
        s.text = args[++i];
      }
      cl.overrides.push_back(std::move(s));
    } else if (a.find('=') != std::string::npos && a.substr(0, a.find('=')).find(':') == std::string::npos) {
      const auto eq = a.find('=');
      TAL_REQUIRE(eq > 0, "command line: '", a, "' has no key before '=' (expected key.path=value)");
      cl.overrides.push_back(RawSetting{a.substr(0, eq), a.substr(eq + 1), {}, false, "command line"});
    } else {
      cl.positionals.push_back(a);
    }
  }
  return cl;
}

}  // namespace tal

namespace tal {

std::vector<RawSetting> environment_settings(const std::function<bool(const std::string&)>& has_key,
                                             const std::function<const char*(const char*)>& getenv_fn) {
  static const std::pair<const char*, const char*> kVariables[] = {{"TAL_DATA_MEMORY_LIMIT", "data.memory_limit"}};
  std::vector<RawSetting> out;
  for (const auto& [variable, key] : kVariables) {
    const char* v = getenv_fn(variable);
    if (v && *v && has_key(key)) out.push_back(RawSetting{key, v, {}, false, std::string("environment variable ") + variable});
  }
  return out;
}

void refuse_unused(const std::vector<RawSetting>& overrides, const std::function<bool(const std::string&)>& known,
                   const std::function<bool(const std::string&)>& used, const std::string& command,
                   const std::vector<std::string>& sections) {
  for (const auto& s : overrides) {
    if (!known(s.key) || used(s.key)) continue;  // unknown keys get their own message (with a suggestion)
    std::string list;
    for (const auto& section : sections)
      if (section != "-") list += (list.empty() ? "" : ", ") + section;
    throw Error(s.origin + ": key '" + s.key + "' is not read by 'tal " + command + "'" +
                (list.empty() ? std::string(", which reads no options") : " (it reads " + list + ")"));
  }
}

void warn_if_empty(const std::string& path, const std::vector<RawSetting>& settings) {
  if (settings.empty())
    std::fprintf(stderr, "tal: warning: %s holds no settings; every option keeps its default\n", path.c_str());
}

int print_help(const std::string& usage, const std::string& table_help) {
  std::cout << "usage: " << usage << "\n";
  if (!table_help.empty())
    std::cout << "\noptions (YAML key, flag; set with --config FILE.yaml, --flag VALUE or key.path=VALUE):\n"
              << table_help << "  --config FILE                     YAML configuration\n"
              << "  --dump-config                     print the resolved configuration and exit\n";
  return 0;
}

}  // namespace tal
