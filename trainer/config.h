// The configuration layer every subcommand uses: a declarative option table (key, type, default, help, CLI flag,
// validator) fills one typed options struct from defaults < YAML file < command line, once. Unknown keys are
// errors with the nearest valid key suggested; --help and --dump-config are generated from the table.
#pragma once

#include <functional>
#include <limits>
#include <string>
#include <type_traits>
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
// The closest of `candidates` to `key` by edit distance, or "" if none is close.
std::string nearest_key(const std::string& key, const std::vector<std::string>& candidates);
// Nested YAML text from dotted keys (in order).
std::string to_yaml(const std::vector<std::pair<std::string, ConfigValue>>& values);

struct OptionCheck {
  std::vector<std::string> choices;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
};
// Throws if `v` violates `check`.
void check_value(const std::string& key, const std::string& origin, const ConfigValue& v, const OptionCheck& check);

template <class Opts>
struct Option {
  std::string key;
  OptType type = OptType::String;
  std::string help;
  std::string flag;  // optional command-line alias, e.g. "--family"
  OptionCheck check;
  std::function<void(Opts&, const ConfigValue&)> set;
  std::function<ConfigValue(const Opts&)> get;

  Option&& alias(std::string f) && { flag = std::move(f); return std::move(*this); }
  Option&& choices(std::vector<std::string> c) && { check.choices = std::move(c); return std::move(*this); }
  Option&& range(double lo, double hi = std::numeric_limits<double>::infinity()) && {
    check.min = lo;
    check.max = hi;
    return std::move(*this);
  }
};

// opt<Opts>("hypernet.hidden", [](auto& o) -> auto& { return o.hypernet.hidden; }, "hidden width")
template <class Opts, class Access>
Option<Opts> opt(std::string key, Access access, std::string help) {
  using T = std::decay_t<decltype(access(std::declval<Opts&>()))>;
  Option<Opts> o;
  o.key = std::move(key);
  o.help = std::move(help);
  if constexpr (std::is_same_v<T, bool>) o.type = OptType::Bool;
  else if constexpr (std::is_integral_v<T>) o.type = OptType::Int;
  else if constexpr (std::is_floating_point_v<T>) o.type = OptType::Float;
  else if constexpr (std::is_same_v<T, std::string>) o.type = OptType::String;
  else {
    static_assert(std::is_same_v<T, std::vector<std::string>>, "unsupported option type");
    o.type = OptType::List;
  }
  o.set = [access](Opts& opts, const ConfigValue& v) {
    if constexpr (std::is_same_v<T, bool>) access(opts) = std::get<bool>(v);
    else if constexpr (std::is_integral_v<T>) access(opts) = static_cast<T>(std::get<int64_t>(v));
    else if constexpr (std::is_floating_point_v<T>) access(opts) = static_cast<T>(std::get<double>(v));
    else access(opts) = std::get<T>(v);
  };
  o.get = [access](const Opts& opts) -> ConfigValue {
    const auto& v = access(const_cast<Opts&>(opts));
    if constexpr (std::is_same_v<T, bool>) return v;
    else if constexpr (std::is_integral_v<T>) return static_cast<int64_t>(v);
    else if constexpr (std::is_floating_point_v<T>) return static_cast<double>(v);
    else return v;
  };
  return o;
}

template <class Opts>
class OptionTable {
 public:
  OptionTable& add(Option<Opts> o) {
    options_.push_back(std::move(o));
    return *this;
  }
  const std::vector<Option<Opts>>& options() const { return options_; }

  const Option<Opts>* find(const std::string& key) const {
    for (const auto& o : options_)
      if (o.key == key) return &o;
    return nullptr;
  }
  const Option<Opts>* find_flag(const std::string& flag) const {
    for (const auto& o : options_)
      if (!o.flag.empty() && o.flag == flag) return &o;
    return nullptr;
  }
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const auto& o : options_) out.push_back(o.key);
    return out;
  }

  // Applies settings in order (later wins) over `opts`; unknown keys throw with a suggestion.
  void apply(Opts& opts, const std::vector<RawSetting>& settings) const;
  std::vector<std::pair<std::string, ConfigValue>> values(const Opts& opts) const {
    std::vector<std::pair<std::string, ConfigValue>> out;
    for (const auto& o : options_) out.emplace_back(o.key, o.get(opts));
    return out;
  }
  std::string dump(const Opts& opts) const { return to_yaml(values(opts)); }
  // Option table as help text, defaults taken from a default-constructed Opts.
  std::string help() const;

 private:
  std::vector<Option<Opts>> options_;
};

// Non-template helpers behind apply() and help().
[[noreturn]] void throw_unknown_key(const RawSetting& s, const std::vector<std::string>& keys);
std::string format_help_line(const std::string& key, const std::string& flag, OptType type, const std::string& def,
                             const std::string& help, const OptionCheck& check);

template <class Opts>
void OptionTable<Opts>::apply(Opts& opts, const std::vector<RawSetting>& settings) const {
  for (const auto& s : settings) {
    const Option<Opts>* o = find(s.key);
    if (!o) throw_unknown_key(s, keys());
    const ConfigValue v = parse_value(o->type, s);
    check_value(s.key, s.origin, v, o->check);
    o->set(opts, v);
  }
}

template <class Opts>
std::string OptionTable<Opts>::help() const {
  const Opts defaults{};
  std::string out;
  for (const auto& o : options_)
    out += format_help_line(o.key, o.flag, o.type, value_text(o.get(defaults)), o.help, o.check);
  return out;
}

}  // namespace tal
