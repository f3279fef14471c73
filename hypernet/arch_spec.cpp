#include "hypernet/arch_spec.h"

#include <cerrno>
#include <cstdlib>
#include <map>
#include <sstream>

#include "hypernet/error.h"

namespace tal {
namespace {

struct Key {
  const char* name;
  int64_t ArchSpec::*field;
};

const std::vector<Key>& keys_of(Family f) {
  static const std::vector<Key> vit = {
      {"depth", &ArchSpec::depth}, {"width", &ArchSpec::width},   {"heads", &ArchSpec::heads},
      {"mlp", &ArchSpec::mlp},     {"patch", &ArchSpec::patch},   {"image", &ArchSpec::image},
      {"channels", &ArchSpec::channels}, {"classes", &ArchSpec::classes}};
  static const std::vector<Key> gpt2 = {
      {"depth", &ArchSpec::depth}, {"width", &ArchSpec::width},     {"heads", &ArchSpec::heads},
      {"mlp", &ArchSpec::mlp},     {"vocab", &ArchSpec::vocab},     {"context", &ArchSpec::context}};
  return f == Family::Vit ? vit : gpt2;
}

std::string key_list(Family f) {
  std::string out;
  for (const auto& k : keys_of(f)) out += (out.empty() ? "" : ", ") + std::string(k.name);
  return out;
}

}  // namespace

const char* family_name(Family f) { return f == Family::Vit ? "vit" : "gpt2"; }

ArchSpec ArchSpec::defaults(Family family) {
  ArchSpec s;
  s.family = family;
  if (family == Family::Gpt2) {  // GPT-2 small
    s.depth = 12;
    s.width = 768;
    s.heads = 12;
    s.mlp = 3072;
  }
  return s;
}

ArchSpec ArchSpec::parse(const std::string& text) {
  const auto fam = text.substr(0, text.find(':'));
  return parse(text, defaults(fam == "gpt2" ? Family::Gpt2 : Family::Vit));
}

ArchSpec ArchSpec::parse(const std::string& text, const ArchSpec& base) {
  const auto colon = text.find(':');
  const std::string fam = text.substr(0, colon);
  TAL_REQUIRE(fam == "vit" || fam == "gpt2", "spec '", text, "': unknown family '", fam,
              "' (expected 'vit' or 'gpt2', as in vit:depth=6,width=192,heads=3)");
  TAL_REQUIRE(fam == family_name(base.family), "spec '", text, "': expected a ", family_name(base.family), " spec");
  ArchSpec spec = base;
  bool mlp_given = false;
  std::map<std::string, bool> seen;
  if (colon != std::string::npos) {
    std::stringstream items(text.substr(colon + 1));
    std::string item;
    while (std::getline(items, item, ',')) {
      if (item.empty()) continue;
      const auto eq = item.find('=');
      TAL_REQUIRE(eq != std::string::npos, "spec '", text, "': item '", item, "' is not key=value");
      const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
      const Key* found = nullptr;
      for (const auto& k : keys_of(spec.family))
        if (key == k.name) found = &k;
      TAL_REQUIRE(found, "spec '", text, "': unknown key '", key, "' for family ", fam, " (valid: ",
                  key_list(spec.family), ")");
      TAL_REQUIRE(!seen[key], "spec '", text, "': key '", key, "' given twice");
      seen[key] = true;
      errno = 0;
      char* end = nullptr;
      const long long v = std::strtoll(value.c_str(), &end, 10);
      TAL_REQUIRE(!value.empty() && *end == '\0' && errno == 0, "spec '", text, "': key '", key,
                  "': expected an integer, got '", value, "'");
      spec.*(found->field) = v;
      if (key == "mlp") mlp_given = true;
    }
  }
  if (!mlp_given && seen["width"]) spec.mlp = 4 * spec.width;
  try {
    spec.validate();
  } catch (const Error& e) {
    throw Error("spec '" + text + "': " + e.what());
  }
  return spec;
}

void ArchSpec::validate() const {
  for (const auto& k : keys_of(family))
    TAL_REQUIRE(this->*(k.field) > 0, "key '", k.name, "' must be positive, got ", this->*(k.field));
  TAL_REQUIRE(width % heads == 0, "key 'heads': ", heads, " does not divide width ", width);
  if (family == Family::Vit)
    TAL_REQUIRE(image % patch == 0, "key 'patch': ", patch, " does not divide image ", image);
}

std::string ArchSpec::str() const {
  std::string out = family_name(family);
  char sep = ':';
  for (const auto& k : keys_of(family)) {
    out += sep + std::string(k.name) + "=" + std::to_string(this->*(k.field));
    sep = ',';
  }
  return out;
}

std::string ArchSpec::id() const {
  std::ostringstream out;
  out << family_name(family) << "-d" << depth << "-w" << width << "-h" << heads << "-m" << mlp;
  if (family == Family::Vit)
    out << "-p" << patch << "-i" << image << "-c" << channels << "-k" << classes;
  else
    out << "-v" << vocab << "-t" << context;
  return out.str();
}

int64_t ArchSpec::tokens() const {
  if (family == Family::Vit) return (image / patch) * (image / patch) + 1;
  return context;
}

int64_t ParamInfo::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::vector<ParamInfo> param_table(const ArchSpec& s) {
  std::vector<ParamInfo> t;
  const int64_t C = s.width, M = s.mlp;
  if (s.family == Family::Vit) {
    t.push_back({"class_token", {1, 1, C}});
    t.push_back({"conv_proj.weight", {C, s.channels, s.patch, s.patch}});
    t.push_back({"conv_proj.bias", {C}});
    t.push_back({"encoder.pos_embedding", {1, s.tokens(), C}});
    for (int64_t l = 0; l < s.depth; ++l) {
      const std::string p = "encoder.layers.encoder_layer_" + std::to_string(l) + ".";
      t.push_back({p + "ln_1.weight", {C}});
      t.push_back({p + "ln_1.bias", {C}});
      t.push_back({p + "self_attention.in_proj_weight", {3 * C, C}});
      t.push_back({p + "self_attention.in_proj_bias", {3 * C}});
      t.push_back({p + "self_attention.out_proj.weight", {C, C}});
      t.push_back({p + "self_attention.out_proj.bias", {C}});
      t.push_back({p + "ln_2.weight", {C}});
      t.push_back({p + "ln_2.bias", {C}});
      t.push_back({p + "mlp.0.weight", {M, C}});
      t.push_back({p + "mlp.0.bias", {M}});
      t.push_back({p + "mlp.3.weight", {C, M}});
      t.push_back({p + "mlp.3.bias", {C}});
    }
    t.push_back({"encoder.ln.weight", {C}});
    t.push_back({"encoder.ln.bias", {C}});
    t.push_back({"heads.head.weight", {s.classes, C}});
    t.push_back({"heads.head.bias", {s.classes}});
  } else {
    // HF Conv1D stores weights as [in, out].
    t.push_back({"transformer.wte.weight", {s.vocab, C}});
    t.push_back({"transformer.wpe.weight", {s.context, C}});
    for (int64_t l = 0; l < s.depth; ++l) {
      const std::string p = "transformer.h." + std::to_string(l) + ".";
      t.push_back({p + "ln_1.weight", {C}});
      t.push_back({p + "ln_1.bias", {C}});
      t.push_back({p + "attn.c_attn.weight", {C, 3 * C}});
      t.push_back({p + "attn.c_attn.bias", {3 * C}});
      t.push_back({p + "attn.c_proj.weight", {C, C}});
      t.push_back({p + "attn.c_proj.bias", {C}});
      t.push_back({p + "ln_2.weight", {C}});
      t.push_back({p + "ln_2.bias", {C}});
      t.push_back({p + "mlp.c_fc.weight", {C, M}});
      t.push_back({p + "mlp.c_fc.bias", {M}});
      t.push_back({p + "mlp.c_proj.weight", {M, C}});
      t.push_back({p + "mlp.c_proj.bias", {C}});
    }
    t.push_back({"transformer.ln_f.weight", {C}});
    t.push_back({"transformer.ln_f.bias", {C}});
    t.push_back({"lm_head.weight", {s.vocab, C}});
  }
  return t;
}

bool is_predicted(const ArchSpec& spec, const std::string& name) {
  return !(spec.family == Family::Vit && name == "class_token");
}

int64_t count_params(const ArchSpec& spec, bool predicted_only) {
  int64_t n = 0;
  for (const auto& p : param_table(spec))
    if (!predicted_only || is_predicted(spec, p.name)) n += p.numel();
  return n;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace tal
