#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "base/error.h"
#include "base/suggest.h"
#include "hypernet/family.h"
#include "trainer/finetune/methods/method.h"

namespace tal {

// The methods: each defined in its own file of this folder; a new one is its declaration and its entry here.
const Method& full_method();
const Method& head_method();
const Method& layer_norm_method();
const Method& lora_method();
const Method& adapter_method();
const Method& two_stage_method();
const Method& bitfit_method();
const Method& scalearn_method();
const Method& taps_method();
const Method& cwps_method();

namespace {

const std::vector<const Method*>& registry() {
  static const std::vector<const Method*> all = {
      &full_method(),
      &head_method(),
      &layer_norm_method(),
      &lora_method(),
      &adapter_method(),
      &two_stage_method(),
      &bitfit_method(),
      &scalearn_method(),
      &taps_method(),
      &cwps_method(),
  };
  return all;
}

constexpr const char* kKey = "key 'finetune.methods': ";

}  // namespace

std::vector<std::string> method_names() {
  std::vector<std::string> out;
  for (const Method* m : registry()) out.push_back(m->name());
  return out;
}

const Method& method_named(const std::string& name) {
  for (const Method* m : registry())
    if (m->name() == name) return *m;
  throw Error(std::string(kKey) + "unknown method '" + name + "' (expected " + join_choices(method_names()) + ")" +
              did_you_mean(name, method_names()));
}

std::string MethodSpec::str() const {
  std::string out = name;
  for (size_t i = 0; i < keys.size(); ++i) out += (i == 0 ? ":" : ",") + keys[i].first + "=" + keys[i].second;
  return out;
}

const std::string& MethodSpec::at(const std::string& key) const {
  for (const auto& [k, v] : keys)
    if (k == key) return v;
  throw Error(std::string(kKey) + "method '" + name + "' has no key '" + key + "'");
}

int64_t MethodSpec::positive(const std::string& key, int64_t automatic) const {
  const std::string& v = at(key);
  if (v == "auto" && automatic > 0) return automatic;
  errno = 0;
  char* end = nullptr;
  const long long n = std::strtoll(v.c_str(), &end, 10);
  TAL_REQUIRE(!v.empty() && *end == '\0' && errno == 0 && n >= 1 && n <= (int64_t{1} << 40), kKey, "'", str(),
              "': ", key, "='", v.substr(0, 40), "' is not a whole number >= 1");
  return n;
}

double MethodSpec::number(const std::string& key) const {
  const std::string& v = at(key);
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  TAL_REQUIRE(!v.empty() && *end == '\0' && std::isfinite(x), kKey, "'", str(), "': ", key, "='", v.substr(0, 40),
              "' is not a number");
  return x;
}

MethodSpec parse_method(const std::string& text) {
  const auto colon = text.find(':');
  MethodSpec out;
  out.name = text.substr(0, colon);
  const Method& method = method_named(out.name);
  out.keys = method.keys();
  if (colon == std::string::npos) return out;
  std::vector<std::string> known;
  for (const auto& [k, v] : out.keys) known.push_back(k);
  size_t start = colon + 1;
  while (start <= text.size()) {
    const auto comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    const auto eq = item.find('=');
    TAL_REQUIRE(eq != std::string::npos && eq > 0, kKey, "'", text.substr(0, 80), "': expected key=value, got '",
                item.substr(0, 40), "'");
    const std::string key = item.substr(0, eq);
    TAL_REQUIRE(is_one_of(key, known), kKey, "method '", out.name, "' has no key '", key.substr(0, 40), "'",
                known.empty() ? std::string(" (it takes none)") : " (expected " + join_choices(known) + ")",
                did_you_mean(key, known));
    for (auto& [k, v] : out.keys)
      if (k == key) v = item.substr(eq + 1);
    start = comma + 1;
  }
  return out;
}

std::vector<std::string> regroup_methods(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    if (item.find(':') == std::string::npos && item.find('=') != std::string::npos && !out.empty())
      out.back() += "," + item;
    else
      out.push_back(item);
  }
  return out;
}

std::unique_ptr<Adaptation> attach_method(const std::string& text, const ArchSpec& spec, ParamMap& params,
                                          uint64_t seed, const SourceModules* sources) {
  const MethodSpec m = parse_method(text);
  const Method& method = method_named(m.name);
  const std::string source = method.source_method(m);
  TAL_REQUIRE(source.empty() || sources, kKey, "'", m.str(), "' reads the modules of ", source,
              " runs on the same host; it is attached with them (a grid that runs both)");
  return sources ? method.attach(m, spec, params, seed, *sources) : method.attach(m, spec, params, seed);
}

std::vector<at::Tensor> Adaptation::trainable() const {
  std::vector<at::Tensor> out;
  for (const auto& [name, t] : modules())
    if (t.is_floating_point()) out.push_back(t);  // not index tensors
  for (const auto& [name, t] : host_) out.push_back(t);
  return out;
}

int64_t Adaptation::trainable_count() const { return numel_of(trainable()); }

std::vector<at::Tensor> Adaptation::train_host(const ArchSpec& spec, ParamMap& params,
                                               const std::function<bool(const std::string&)>& trained) {
  std::vector<at::Tensor> out;
  for (const auto& p : param_table(spec)) {
    auto& t = params.at(p.name);
    if (trained(p.name)) {
      if (!t.requires_grad()) t.requires_grad_(true);
      out.push_back(t);
      host_.emplace_back(p.name, t);
    } else {
      t.requires_grad_(false);
    }
  }
  return out;
}

int64_t numel_of(const std::vector<at::Tensor>& tensors) {
  int64_t n = 0;
  for (const auto& t : tensors) n += t.numel();
  return n;
}

int64_t width_of(const ArchSpec& spec) { return spec.at("width"); }
int64_t depth_of(const ArchSpec& spec) { return spec.at("depth"); }

}  // namespace tal
