#include "trainer/config/settings.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "base/error.h"
#include "base/suggest.h"

namespace tal {
namespace {

std::string where(const RawSetting& raw) { return raw.origin + ": key '" + raw.key + "'"; }

// What a config may expand to once its anchors and aliases are followed, and how deep it may nest: a few hundred bytes
// of aliases can otherwise stand for billions of keys (an "alias bomb": gigabytes, then "out of memory").
constexpr size_t kMaxYamlNodes = 100000;
constexpr int kMaxYamlDepth = 32;

void flatten(const YAML::Node& node, const std::string& prefix, const std::string& path,
             std::vector<RawSetting>& out, size_t& nodes, int depth = 0) {
  TAL_REQUIRE(++nodes <= kMaxYamlNodes, path, ": more than ", kMaxYamlNodes, " YAML nodes once its anchors and "
              "aliases are followed (an alias bomb?); a config needs a few hundred");
  TAL_REQUIRE(depth <= kMaxYamlDepth, path, ":", node.Mark().line + 1, ": nested deeper than ", kMaxYamlDepth,
              " levels");
  if (node.IsMap()) {
    std::map<std::string, int> first_line;
    for (const auto& kv : node) {
      TAL_REQUIRE(kv.first.IsScalar(), path, ":", kv.first.Mark().line + 1, ": a key must be a plain name");
      const std::string k = kv.first.as<std::string>();
      const std::string full = prefix.empty() ? k : prefix + "." + k;
      const int line = kv.first.Mark().line + 1;
      const auto [it, fresh] = first_line.emplace(k, line);
      TAL_REQUIRE(fresh, path, ":", line, ": key '", full, "' given twice (first on line ", it->second, ")");
      flatten(kv.second, full, path, out, nodes, depth + 1);
    }
    return;
  }
  RawSetting s;
  s.key = prefix;
  s.origin = path;
  if (node.IsSequence()) {
    s.is_sequence = true;
    for (const auto& item : node) {
      TAL_REQUIRE(++nodes <= kMaxYamlNodes, path, ": more than ", kMaxYamlNodes, " YAML nodes once its anchors and "
                  "aliases are followed (an alias bomb?); a config needs a few hundred");
      TAL_REQUIRE(item.IsScalar(), path, ": key '", prefix, "': list items must be plain values");
      s.items.push_back(item.as<std::string>());
    }
  } else if (node.IsScalar()) {
    s.text = node.as<std::string>();
  } else if (node.IsNull()) {
    s.text = "";
  }
  TAL_REQUIRE(!prefix.empty(), path, ": the top level must be a mapping of keys");
  out.push_back(std::move(s));
}

}  // namespace

const char* type_name(OptType t) {
  switch (t) {
    case OptType::Int: return "int";
    case OptType::Float: return "float";
    case OptType::Bool: return "bool";
    case OptType::String: return "string";
    case OptType::List: return "list";
  }
  return "?";
}

ConfigValue parse_value(OptType type, const RawSetting& raw) {
  if (type == OptType::List) {
    if (raw.is_sequence) return raw.items;
    std::vector<std::string> items;
    std::stringstream in(raw.text);
    std::string item;
    while (std::getline(in, item, ','))
      if (!item.empty()) items.push_back(item);
    return items;
  }
  TAL_REQUIRE(!raw.is_sequence, where(raw), ": expected a single ", type_name(type), ", got a list");
  const std::string& t = raw.text;
  switch (type) {
    case OptType::Int: {
      errno = 0;
      char* end = nullptr;
      const long long v = std::strtoll(t.c_str(), &end, 10);
      TAL_REQUIRE(!t.empty() && *end == '\0' && errno == 0, where(raw), ": expected an integer, got '", t, "'");
      return static_cast<int64_t>(v);
    }
    case OptType::Float: {
      errno = 0;
      char* end = nullptr;
      const double v = std::strtod(t.c_str(), &end);
      TAL_REQUIRE(!t.empty() && *end == '\0' && errno == 0 && std::isfinite(v), where(raw),
                  ": expected a number, got '", t, "'");
      return v;
    }
    case OptType::Bool: {
      if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
      if (t == "false" || t == "no" || t == "off" || t == "0") return false;
      TAL_REQUIRE(false, where(raw), ": expected true or false, got '", t, "'");
    }
    default:
      return t;
  }
}

std::string value_text(const ConfigValue& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) {
    std::ostringstream out;
    out.precision(10);
    out << *d;
    return out.str();
  }
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  std::string out;
  for (const auto& item : std::get<std::vector<std::string>>(v)) out += (out.empty() ? "" : ",") + item;
  return out;
}

void check_value(const std::string& key, const std::string& origin, const ConfigValue& v, const OptionCheck& c) {
  if (!c.choices.empty()) {
    const std::string text = value_text(v);
    if (std::find(c.choices.begin(), c.choices.end(), text) == c.choices.end()) {
      std::string list;
      for (const auto& ch : c.choices) list += (list.empty() ? "" : ", ") + ch;
      TAL_REQUIRE(false, origin, ": key '", key, "': '", text, "' is not one of: ", list);
    }
  }
  double x = 0;
  if (auto* i = std::get_if<int64_t>(&v)) x = static_cast<double>(*i);
  else if (auto* d = std::get_if<double>(&v)) x = *d;
  else return;
  TAL_REQUIRE(x >= c.min && x <= c.max, origin, ": key '", key, "': ", value_text(v), " is outside [", c.min, ", ",
              c.max, "]");
}

std::vector<RawSetting> read_yaml_settings(const std::string& path) {
  TAL_REQUIRE(std::filesystem::is_regular_file(path), path, ": config file not found");
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return read_yaml_text(text.str(), path);
}

std::vector<RawSetting> read_yaml_text(const std::string& text, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  std::vector<RawSetting> out;
  if (root.IsNull()) return out;
  TAL_REQUIRE(root.IsMap(), path, ": the top level must be a mapping of keys");
  size_t nodes = 0;
  flatten(root, "", path, out, nodes);
  return out;
}

void throw_unknown_key(const RawSetting& s, const std::vector<std::string>& keys) {
  const std::string near = nearest_name(s.key, keys);
  throw Error(s.origin + ": unknown key '" + s.key + "'" +
              (near.empty() ? " (see --help for the valid keys)" : " (did you mean '" + near + "'?)"));
}

namespace {

void emit_value(YAML::Emitter& out, const ConfigValue& value) {
  if (auto* list = std::get_if<std::vector<std::string>>(&value)) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& item : *list) out << item;
    out << YAML::EndSeq;
  } else if (auto* i = std::get_if<int64_t>(&value)) {
    out << *i;
  } else if (auto* d = std::get_if<double>(&value)) {
    out << value_text(*d);
  } else if (auto* b = std::get_if<bool>(&value)) {
    out << (*b ? "true" : "false");
  } else {
    out << std::get<std::string>(value);
  }
}

// Emits keys [begin, end) that share `depth` leading components, grouping by the next component in order of
// first appearance.
void emit_map(YAML::Emitter& out, std::vector<std::pair<std::vector<std::string>, const ConfigValue*>>& items,
              size_t depth) {
  out << YAML::BeginMap;
  std::vector<bool> done(items.size(), false);
  for (size_t i = 0; i < items.size(); ++i) {
    if (done[i]) continue;
    const std::string& head = items[i].first[depth];
    if (items[i].first.size() == depth + 1) {
      out << YAML::Key << head << YAML::Value;
      emit_value(out, *items[i].second);
      done[i] = true;
      continue;
    }
    std::vector<std::pair<std::vector<std::string>, const ConfigValue*>> group;
    for (size_t j = i; j < items.size(); ++j)
      if (!done[j] && items[j].first.size() > depth + 1 && items[j].first[depth] == head) {
        group.push_back(items[j]);
        done[j] = true;
      }
    out << YAML::Key << head << YAML::Value;
    emit_map(out, group, depth + 1);
  }
  out << YAML::EndMap;
}

}  // namespace

std::string to_yaml(const std::vector<std::pair<std::string, ConfigValue>>& values) {
  std::vector<std::pair<std::vector<std::string>, const ConfigValue*>> items;
  for (const auto& [key, value] : values) {
    std::vector<std::string> parts;
    std::stringstream in(key);
    std::string part;
    while (std::getline(in, part, '.')) parts.push_back(part);
    items.emplace_back(std::move(parts), &value);
  }
  YAML::Emitter out;
  emit_map(out, items, 0);
  return std::string(out.c_str()) + "\n";
}

std::string format_help_line(const std::string& key, const std::string& flag, OptType type, const std::string& def,
                             const std::string& help, const OptionCheck& check) {
  std::ostringstream out;
  std::string name = key;
  if (!flag.empty()) name += " (" + flag + ")";
  out << "  " << name;
  out << std::string(name.size() < 34 ? 34 - name.size() : 1, ' ') << help << " [" << type_name(type);
  if (!check.choices.empty()) {
    out << ": ";
    for (size_t i = 0; i < check.choices.size(); ++i) out << (i ? "|" : "") << check.choices[i];
  }
  if (std::isfinite(check.min) || std::isfinite(check.max)) {
    auto num = [](double v) {
      std::ostringstream o;
      o.precision(10);
      o << v;
      return o.str();
    };
    out << " " << (std::isfinite(check.min) ? num(check.min) : "") << ".."
        << (std::isfinite(check.max) ? num(check.max) : "");
  }
  out << ", default " << (def.empty() ? "\"\"" : def) << "]\n";
  return out.str();
}

}  // namespace tal
