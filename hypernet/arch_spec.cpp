#include "hypernet/arch_spec.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "base/error.h"
#include "base/suggest.h"
#include "hypernet/family.h"
#include "hypernet/family_registry.h"

namespace tal {
namespace {

std::vector<std::string> key_names(const Family& f) {
  std::vector<std::string> out;
  for (const auto& k : f.keys()) out.emplace_back(k.name);
  return out;
}

const Family& find_family_for_spec(const std::string& fam, const std::string& text) {
  for (const Family* f : families())
    if (f->name() == fam) return *f;
  throw Error("spec '" + text + "': unknown family '" + fam + "' (expected " + join_choices(family_names()) +
              ", as in " + families().front()->name() + ":depth=6,width=192,heads=3)" + did_you_mean(fam, family_names()));
}

}  // namespace

ArchSpec::ArchSpec(const Family& family) : family_(&family) {
  for (const auto& k : family.keys()) values_.push_back(k.default_value);
}

ArchSpec::ArchSpec() : ArchSpec(*families().front()) {}

ArchSpec ArchSpec::defaults(const Family& family) { return ArchSpec(family); }
ArchSpec ArchSpec::defaults(const std::string& family) { return ArchSpec(find_family(family)); }

std::string ArchSpec::family_name() const { return family_->name(); }

int ArchSpec::index_of(const std::string& key) const {
  const auto& keys = family_->keys();
  for (size_t i = 0; i < keys.size(); ++i)
    if (key == keys[i].name) return static_cast<int>(i);
  return -1;
}

bool ArchSpec::has(const std::string& key) const { return index_of(key) >= 0; }

int64_t ArchSpec::at(const std::string& key) const {
  const int i = index_of(key);
  TAL_ASSERT(i >= 0, "family ", family_->name(), " has no spec key '", key, "'");
  return values_[static_cast<size_t>(i)];
}

void ArchSpec::set(const std::string& key, int64_t value) {
  const int i = index_of(key);
  TAL_ASSERT(i >= 0, "family ", family_->name(), " has no spec key '", key, "'");
  values_[static_cast<size_t>(i)] = value;
}

ArchSpec ArchSpec::parse(const std::string& text) {
  const auto colon = text.find(':');
  return parse(text, defaults(find_family_for_spec(text.substr(0, colon), text)));
}

ArchSpec ArchSpec::parse(const std::string& text, const ArchSpec& base) {
  const auto colon = text.find(':');
  const std::string fam = text.substr(0, colon);
  const Family& family = find_family_for_spec(fam, text);
  TAL_REQUIRE(&family == &base.family(), "spec '", text, "': expected a ", base.family_name(), " spec");
  ArchSpec spec = base;
  std::vector<std::string> given;
  if (colon != std::string::npos) {
    std::stringstream items(text.substr(colon + 1));
    std::string item;
    while (std::getline(items, item, ',')) {
      if (item.empty()) continue;
      const auto eq = item.find('=');
      TAL_REQUIRE(eq != std::string::npos, "spec '", text, "': item '", item, "' is not key=value");
      const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
      TAL_REQUIRE(spec.has(key), "spec '", text, "': unknown key '", key, "' for family ", fam, " (valid: ",
                  join_choices(key_names(family)), ")", did_you_mean(key, key_names(family)));
      TAL_REQUIRE(!is_one_of(key, given), "spec '", text, "': key '", key, "' given twice");
      given.push_back(key);
      errno = 0;
      char* end = nullptr;
      const long long v = std::strtoll(value.c_str(), &end, 10);
      TAL_REQUIRE(!value.empty() && *end == '\0' && errno == 0, "spec '", text, "': key '", key,
                  "': expected an integer, got '", value, "'");
      spec.set(key, v);
    }
  }
  family.complete(spec, given);
  try {
    spec.validate();
  } catch (const Error& e) {
    throw Error("spec '" + text + "': " + e.what());
  }
  return spec;
}

void ArchSpec::validate() const {
  const auto& keys = family_->keys();
  for (size_t i = 0; i < keys.size(); ++i) {
    TAL_REQUIRE(values_[i] >= keys[i].min, "key '", keys[i].name, "' must be ", keys[i].min > 0 ? "positive" : ">= 0",
                ", got ", values_[i]);
    TAL_REQUIRE(values_[i] <= keys[i].max, "key '", keys[i].name, "': ", values_[i], " is above the bound ",
                keys[i].max);
  }
  family_->validate(*this);
}

std::string ArchSpec::str() const {
  std::string out = family_->name();
  char sep = ':';
  const auto& keys = family_->keys();
  for (size_t i = 0; i < keys.size(); ++i) {
    out += sep + std::string(keys[i].name) + "=" + std::to_string(values_[i]);
    sep = ',';
  }
  return out;
}

std::string ArchSpec::id() const {
  std::string out = family_->name();
  const auto& keys = family_->keys();
  for (size_t i = 0; i < keys.size(); ++i) out += "-" + std::string(keys[i].id_prefix) + std::to_string(values_[i]);
  return out;
}

int64_t checked_mul(int64_t a, int64_t b) {
  int64_t r = 0;
  TAL_REQUIRE(!__builtin_mul_overflow(a, b, &r), "size ", a, " x ", b, " overflows 64-bit arithmetic");
  return r;
}

int64_t checked_add(int64_t a, int64_t b) {
  int64_t r = 0;
  TAL_REQUIRE(!__builtin_add_overflow(a, b, &r), "size ", a, " + ", b, " overflows 64-bit arithmetic");
  return r;
}

int64_t ParamInfo::numel() const {
  int64_t n = 1;
  for (auto d : shape) n = checked_mul(n, d);
  return n;
}

std::vector<ParamInfo> param_table(const ArchSpec& spec) { return spec.family().params(spec); }

bool is_predicted(const ArchSpec& spec, const std::string& name) { return spec.family().is_predicted(spec, name); }

int64_t count_params(const ArchSpec& spec, bool predicted_only) {
  int64_t n = 0;
  try {
    for (const auto& p : param_table(spec))
      if (!predicted_only || is_predicted(spec, p.name)) n = checked_add(n, p.numel());
  } catch (const Error& e) {
    throw Error(spec.str() + ": parameter count: " + e.what());
  }
  return n;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace tal
