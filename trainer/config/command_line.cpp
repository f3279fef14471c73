#include "trainer/config/command_line.h"

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

int print_help(const std::string& usage, const std::string& table_help) {
  std::cout << "usage: " << usage << "\n";
  if (!table_help.empty())
    std::cout << "\noptions (YAML key, flag; set with --config FILE.yaml, --flag VALUE or key.path=VALUE):\n"
              << table_help << "  --config FILE                     YAML configuration\n"
              << "  --dump-config                     print the resolved configuration and exit\n";
  return 0;
}

}  // namespace tal
