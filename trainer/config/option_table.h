// The declarative option table every command fills its typed options from: key, type, default, help, optional
// command-line flag and validator per entry; defaults < YAML file < command line, applied once. Unknown keys are
// errors with the nearest valid key suggested; --help and --dump-config are generated from the table.
#pragma once

#include <algorithm>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/error.h"
#include "trainer/config/settings.h"

namespace tal {

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
  // A key or flag defined twice is a programming error: the table refuses it (and a test builds every table).
  OptionTable& add(Option<Opts> o) {
    TAL_ASSERT(!find(o.key), "option key '", o.key, "' defined twice");
    TAL_ASSERT(o.flag.empty() || !find_flag(o.flag), "flag '", o.flag, "' defined twice (for '", o.key, "')");
    options_.push_back(std::move(o));
    return *this;
  }
  // Gives an existing key its command-line flag in this table (one command's --steps is another's bench.steps).
  OptionTable& alias(const std::string& key, const std::string& flag) {
    TAL_ASSERT(!find_flag(flag), "flag '", flag, "' defined twice (for '", key, "')");
    for (auto& o : options_)
      if (o.key == key) {
        TAL_ASSERT(o.flag.empty(), "option '", key, "' already has flag ", o.flag);
        o.flag = flag;
        return *this;
      }
    TAL_ASSERT(false, "no option '", key, "' to alias as ", flag);
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
  // Option table as help text, with the table's defaults.
  std::string help() const;
  // What options start from before any file or flag (a default-constructed Opts unless a command sets others).
  const Opts& defaults() const { return defaults_; }
  void set_defaults(Opts d) { defaults_ = std::move(d); }
  // The sections (first key component, or a whole top-level key) the command reads. A config file may hold any
  // known key (one file serves the whole pipeline), but a flag or override of a key the command does not read is
  // an error. Empty: the command reads every key of its table.
  void set_used(std::string command, std::vector<std::string> sections) {
    command_ = std::move(command);
    used_ = std::move(sections);
  }
  bool uses(const std::string& key) const {
    if (used_.empty()) return true;
    const std::string section = key.substr(0, key.find('.'));
    return std::find(used_.begin(), used_.end(), section) != used_.end();
  }
  const std::string& command() const { return command_; }
  const std::vector<std::string>& used() const { return used_; }

 private:
  std::vector<Option<Opts>> options_;
  Opts defaults_{};
  std::string command_;
  std::vector<std::string> used_;
};

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
  std::string out;
  for (const auto& o : options_)
    out += format_help_line(o.key, o.flag, o.type, value_text(o.get(defaults_)), o.help, o.check);
  return out;
}

}  // namespace tal
