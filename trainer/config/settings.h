// Settings as users give them (YAML files, key.path=value, flags) before they are typed: where each came from,
// typed parsing with messages that name the origin and key, and YAML in and out.
#pragma once

#include <limits>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace tal {

using ConfigValue = std::variant<int64_t, double, bool, std::string, std::vector<std::string>>;
enum class OptType { Int, Float, Bool, String, List };

// One key=value as given by a user, with where it came from (a file path or "command line").
struct RawSetting {
  std::string key;
  std::string text;                // scalar text, or comma-separated list
  std::vector<std::string> items;  // YAML sequence items (lists only)
  bool is_sequence = false;
  std::string origin;
};

// Text -> typed value for one option; throws tal::Error "<origin>: key '<key>': expected ..., got '...'".
ConfigValue parse_value(OptType type, const RawSetting& raw);
std::string value_text(const ConfigValue& v);
const char* type_name(OptType t);

// Reads a YAML file into flat dotted keys; throws naming the file (and line) on syntax errors.
std::vector<RawSetting> read_yaml_settings(const std::string& path);
// The same from YAML text (e.g. the configuration stored in a checkpoint); `origin` names it in errors.
std::vector<RawSetting> read_yaml_text(const std::string& text, const std::string& origin);
// Nested YAML text from dotted keys (in order).
std::string to_yaml(const std::vector<std::pair<std::string, ConfigValue>>& values);

struct OptionCheck {
  std::vector<std::string> choices;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
};
// Throws if `v` violates `check`.
void check_value(const std::string& key, const std::string& origin, const ConfigValue& v, const OptionCheck& check);

[[noreturn]] void throw_unknown_key(const RawSetting& s, const std::vector<std::string>& keys);
std::string format_help_line(const std::string& key, const std::string& flag, OptType type, const std::string& def,
                             const std::string& help, const OptionCheck& check);

}  // namespace tal
