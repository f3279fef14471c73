// The ViT family: torchvision's VisionTransformer (conv_proj, class token, pre-LN encoder, heads.head), the ViTs-1K
// (LoGAH) and ViTs+-1K (TAL) zoo rules, its graph as GHN-3's tracer sees it, and torchvision's initialisation.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "base/error.h"
#include "base/rng.h"
#include "hypernet/family.h"
#include "hypernet/graph_builder.h"
#include "hypernet/targets.h"
#include "hypernet/zoo.h"

namespace tal {
namespace {

// The spec's keys as named integers.
struct Vit {
  int64_t depth, width, heads, mlp, patch, image, channels, classes;
  explicit Vit(const ArchSpec& s)
      : depth(s.at("depth")), width(s.at("width")), heads(s.at("heads")), mlp(s.at("mlp")), patch(s.at("patch")),
        image(s.at("image")), channels(s.at("channels")), classes(s.at("classes")) {}
  int64_t tokens() const { return (image / patch) * (image / patch) + 1; }
};

std::string layer(int64_t l) { return "encoder.layers.encoder_layer_" + std::to_string(l) + "."; }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// LoGAH's head rule (vit_generator.py): widths divisible by 12 -> {3,6,12}, by 6 -> {3,6}, by 3 -> 3, else {4,8}.
int64_t sample_heads(SplitMix& rng, int64_t width) {
  if (width % 12 == 0) return rng.pick(std::vector<int64_t>{3, 6, 12});
  if (width % 6 == 0) return rng.pick(std::vector<int64_t>{3, 6});
  if (width % 3 == 0) return 3;
  return rng.pick(std::vector<int64_t>{4, 8});
}

// 32x32-class images use patch 2 or 4 (CIFAR in LoGAH), 224-class images 16 or 32; keep those dividing the image.
std::vector<int64_t> patch_choices(const ZooRules& r, int64_t image) {
  std::vector<int64_t> candidates = image <= 64 ? std::vector<int64_t>{2, 4} : std::vector<int64_t>{16, 32};
  if (r.profile == "cpu-small") candidates = image <= 64 ? std::vector<int64_t>{4} : std::vector<int64_t>{16};
  std::vector<int64_t> ok;
  for (auto p : candidates)
    if (image % p == 0) ok.push_back(p);
  TAL_REQUIRE(!ok.empty(), "zoo: no patch size in {", candidates.front(), ", ...} divides image ", image);
  return ok;
}

class VitFamily final : public Family {
 public:
  std::string name() const override { return "vit"; }
  std::string reference_layout() const override { return "torchvision's VisionTransformer"; }

  const std::vector<SpecKey>& keys() const override {
    static const std::vector<SpecKey> k = {
        {"depth", 12, 256, "d"},   {"width", 192, 16384, "w"}, {"heads", 3, 256, "h"},
        {"mlp", 768, 65536, "m"},  {"patch", 16, 1024, "p"},   {"image", 224, 4096, "i"},
        {"channels", 3, 64, "c"},  {"classes", 1000, 1000000, "k"}};
    return k;
  }

  void complete(ArchSpec& s, const std::vector<std::string>& given) const override {
    const auto has = [&](const char* k) { return std::find(given.begin(), given.end(), k) != given.end(); };
    if (has("width") && !has("mlp")) s.set("mlp", 4 * s.at("width"));
  }

  void validate(const ArchSpec& s) const override {
    const Vit v(s);
    TAL_REQUIRE(v.width % v.heads == 0, "key 'heads': ", v.heads, " does not divide width ", v.width);
    TAL_REQUIRE(v.image % v.patch == 0, "key 'patch': ", v.patch, " does not divide image ", v.image);
  }

  ArchSpec defaults_for(const DataShape& data) const override {
    ArchSpec s = ArchSpec::defaults(*this);
    fit(s, data);
    s.set("patch", s.at("image") <= 64 ? 4 : 16);
    return s;
  }

  void fit(ArchSpec& s, const DataShape& data) const override {
    TAL_REQUIRE(data.height == data.width, "vit: images must be square, got ", data.height, "x", data.width);
    if (data.channels > 0) s.set("channels", data.channels);
    if (data.height > 0) s.set("image", data.height);
    if (data.classes > 0) s.set("classes", data.classes);
  }

  std::string mismatch(const ArchSpec& s, const DataShape& data) const override {
    const Vit v(s);
    const bool fits = (data.channels == 0 || v.channels == data.channels) &&
                      (data.height == 0 || (v.image == data.height && v.image == data.width)) &&
                      (data.classes == 0 || v.classes == data.classes);
    if (fits) return "";
    return std::to_string(data.channels) + " channels, " + std::to_string(data.height) + "x" +
           std::to_string(data.width) + " images, " + std::to_string(data.classes) + " classes";
  }

  std::vector<ParamInfo> params(const ArchSpec& s) const override {
    const Vit v(s);
    const int64_t c = v.width, m = v.mlp;
    std::vector<ParamInfo> t;
    t.push_back({"class_token", {1, 1, c}});
    t.push_back({"conv_proj.weight", {c, v.channels, v.patch, v.patch}});
    t.push_back({"conv_proj.bias", {c}});
    t.push_back({"encoder.pos_embedding", {1, v.tokens(), c}});
    for (int64_t l = 0; l < v.depth; ++l) {
      const std::string p = layer(l);
      t.push_back({p + "ln_1.weight", {c}});
      t.push_back({p + "ln_1.bias", {c}});
      t.push_back({p + "self_attention.in_proj_weight", {3 * c, c}});
      t.push_back({p + "self_attention.in_proj_bias", {3 * c}});
      t.push_back({p + "self_attention.out_proj.weight", {c, c}});
      t.push_back({p + "self_attention.out_proj.bias", {c}});
      t.push_back({p + "ln_2.weight", {c}});
      t.push_back({p + "ln_2.bias", {c}});
      t.push_back({p + "mlp.0.weight", {m, c}});
      t.push_back({p + "mlp.0.bias", {m}});
      t.push_back({p + "mlp.3.weight", {c, m}});
      t.push_back({p + "mlp.3.bias", {c}});
    }
    t.push_back({"encoder.ln.weight", {c}});
    t.push_back({"encoder.ln.bias", {c}});
    t.push_back({"heads.head.weight", {v.classes, c}});
    t.push_back({"heads.head.bias", {v.classes}});
    return t;
  }

  // No graph node predicts the class token; it stays torchvision's initial zeros.
  bool is_predicted(const ArchSpec&, const std::string& name) const override { return name != "class_token"; }
  bool is_classifier(const std::string& name) const override { return name.rfind("heads.head.", 0) == 0; }
  bool is_layer_norm(const std::string& name) const override {  // every block's ln_1, ln_2; the final encoder.ln
    return name.rfind("encoder.ln.", 0) == 0 ||
           (name.rfind("encoder.layers.", 0) == 0 &&
            (name.find(".ln_1.") != std::string::npos || name.find(".ln_2.") != std::string::npos));
  }
  std::string block_prefix(int64_t l) const override { return layer(l); }
  std::string qkv_weight(int64_t l) const override { return layer(l) + "self_attention.in_proj_weight"; }
  std::string projection_weight(int64_t l, Projection p) const override {
    return layer(l) + (p == Projection::Out ? "self_attention.out_proj.weight" : p == Projection::Fc1 ? "mlp.0.weight"
                                                                                                    : "mlp.3.weight");
  }

  Graph graph(const ArchSpec& s, int cutoff) const override {
    const Vit v(s);
    GraphBuilder g(s);
    const int input = g.topo(Op::Input, "input");
    const int cw = g.param(Op::Conv, "conv_proj.weight"), cb = g.param(Op::Bias, "conv_proj.bias");
    // pos_enc [1, T, C] is seen as (1, C, s, s) with s = floor(sqrt(T)) (T includes the class token).
    const auto& pe = g.shape_of("encoder.pos_embedding");
    const auto side = static_cast<int64_t>(std::floor(std::sqrt(static_cast<double>(pe[1]))));
    const int pos = g.node({Op::PosEnc, {1, pe[2], side, side}, "encoder.pos_embedding", "", "encoder.pos_embedding"});
    int x = g.topo(Op::Sum, "AddBackward0");
    g.chain({input, cw, cb, x});
    g.edge(pos, x);  // pos_enc has no incoming edge, as in the reference tracer
    for (int64_t l = 0; l < v.depth; ++l) {
      const std::string p = layer(l);
      x = g.transformer_block(x, p + "ln_1.", p + "self_attention.in_proj_weight", p + "self_attention.in_proj_bias",
                              p + "self_attention.out_proj.", p + "ln_2.", p + "mlp.0.", p + "mlp.3.");
    }
    // The reference recognises the classifier by position: its weight and bias must be the last two nodes.
    const int ln = g.layer_norm("encoder.ln.");
    g.chain({x, ln, g.param(Op::Conv, "heads.head.weight"), g.param(Op::Bias, "heads.head.bias")});
    return g.finish(cutoff);
  }

  // The reference leaves [1, T, C] positional encodings with C >= 11 unscaled (and fails for narrower ViTs);
  // recognising it by name lets any width work.
  PredictedScaling scaling(const ArchSpec&, const std::string& name) const override {
    return {name == "encoder.pos_embedding", 1.0};
  }

  std::vector<std::string> zoo_rules() const override { return {"vits-1k", "vits+-1k"}; }

  ArchSpec sample(const ZooRules& r, SplitMix& rng) const override {
    const bool small = r.profile == "cpu-small";
    ArchSpec s = ArchSpec::defaults(*this);
    fit(s, r.data);
    int64_t depth = 0, width = 0;
    if (r.rules == "vits-1k") {
      // Deeper nets are narrower.
      if (small) {
        depth = rng.uniform(3, 6);
        width = rng.pick(depth >= 5 ? int_range(64, 128, 32) : depth == 4 ? int_range(96, 160, 32) : int_range(128, 192, 32));
      } else {
        depth = rng.uniform(3, 9);
        width = rng.pick(depth > 5 ? int_range(128, 256, 32) : depth >= 4 ? int_range(256, 384, 32) : int_range(384, 512, 32));
      }
    } else {  // vits+-1k
      depth = small ? rng.uniform(3, 6) : rng.uniform(3, 12);
      width = rng.pick(small ? int_range(64, 192, 32) : int_range(192, 768, 64));
    }
    s.set("depth", depth);
    s.set("width", width);
    s.set("heads", sample_heads(rng, width));
    s.set("patch", rng.pick(patch_choices(r, s.at("image"))));
    s.set("mlp", 4 * width);
    return s;
  }

  at::Tensor forward(const ArchSpec& s, const ParamMap& p, const at::Tensor& images,
                     const BlockHooks* hooks) const override {
    return at::linear(features(s, p, images, hooks), param_at(s, p, "heads.head.weight"), param_at(s, p, "heads.head.bias"));
  }

  // The class token after the final LayerNorm, [B, width].
  at::Tensor features(const ArchSpec& s, const ParamMap& p, const at::Tensor& images,
                      const BlockHooks* hooks) const override {
    static const BlockHooks identity;
    const BlockHooks& h = hooks ? *hooks : identity;
    const Vit v(s);
    TAL_REQUIRE(images.dim() == 4 && images.size(1) == v.channels && images.size(2) == v.image &&
                    images.size(3) == v.image,
                "images of shape ", shape_str(images.sizes().vec()), " do not fit ", s.str(), " (expected [B, ",
                v.channels, ", ", v.image, ", ", v.image, "])");
    auto at_ = [&](const std::string& name) -> const at::Tensor& { return param_at(s, p, name); };
    const int64_t b = images.size(0), c = v.width;
    constexpr double eps = 1e-6;  // torchvision's ViT LayerNorm

    auto x = at::conv2d(images, at_("conv_proj.weight"), at_("conv_proj.bias"), {v.patch, v.patch});
    x = x.flatten(2).transpose(1, 2);  // [B, T, C]
    // A missing class token is taken as zeros (torchvision's initial value; no hypernetwork predicts it).
    const auto cls_it = p.find("class_token");
    const auto cls = cls_it != p.end() ? cls_it->second : at::zeros({1, 1, c}, x.options());
    x = at::cat({cls.expand({b, 1, c}), x}, 1) + at_("encoder.pos_embedding");
    for (int64_t l = 0; l < v.depth; ++l) {
      const std::string pre = layer(l);
      auto y = at::layer_norm(x, {c}, at_(pre + "ln_1.weight"), at_(pre + "ln_1.bias"), eps);
      auto qkv = h.qkv(l, y, at::linear(y, at_(pre + "self_attention.in_proj_weight"),
                                          at_(pre + "self_attention.in_proj_bias")))
                     .chunk(3, -1);
      y = multi_head_attention(qkv[0], qkv[1], qkv[2], v.heads, /*causal=*/false);
      x = x + h.attention(l, h.projection(l, Projection::Out, y,
                                          at::linear(y, at_(pre + "self_attention.out_proj.weight"),
                                                     at_(pre + "self_attention.out_proj.bias"))));
      x = h.residual(l, x);
      y = at::layer_norm(x, {c}, at_(pre + "ln_2.weight"), at_(pre + "ln_2.bias"), eps);
      y = at::gelu(
          h.projection(l, Projection::Fc1, y, at::linear(y, at_(pre + "mlp.0.weight"), at_(pre + "mlp.0.bias"))));
      x = x + h.mlp(l, h.projection(l, Projection::Fc2, y,
                                    at::linear(y, at_(pre + "mlp.3.weight"), at_(pre + "mlp.3.bias"))));
    }
    x = at::layer_norm(x, {c}, at_("encoder.ln.weight"), at_("encoder.ln.bias"), eps);
    return x.select(1, 0);
  }

  // torchvision's VisionTransformer initialisation.
  ParamMap init(const ArchSpec& spec, uint64_t seed) const override {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    ParamMap out;
    for (const auto& info : params(spec)) {
      const auto& n = info.name;
      auto t = at::zeros(info.shape, at::kFloat);
      const int64_t fan_out = info.shape[0];
      const int64_t fan_in = info.shape.size() > 1 ? info.numel() / fan_out : 1;
      if (n == "conv_proj.weight") {
        const double std = std::sqrt(1.0 / static_cast<double>(fan_in));
        t.normal_(0, std, gen).clamp_(-2 * std, 2 * std);
      } else if (n == "encoder.pos_embedding") {
        t.normal_(0, 0.02, gen);
      } else if (ends_with(n, "in_proj_weight") || (ends_with(n, ".weight") && n.find(".mlp.") != std::string::npos)) {
        const double bound = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));  // xavier_uniform
        t.uniform_(-bound, bound, gen);
      } else if (ends_with(n, "out_proj.weight")) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));  // kaiming_uniform(a=sqrt(5))
        t.uniform_(-bound, bound, gen);
      } else if (n.find(".mlp.") != std::string::npos && ends_with(n, ".bias")) {
        t.normal_(0, 1e-6, gen);
      } else if (n.find("ln") != std::string::npos && ends_with(n, ".weight")) {
        t.fill_(1.0);
      }  // class_token, other biases and the zero-initialised head stay 0
      out.emplace(n, t);
    }
    return out;
  }

  at::Tensor loss(const at::Tensor& logits, const at::Tensor& labels, double smoothing) const override {
    return per_example_cross_entropy(logits, labels, smoothing);
  }

  at::Tensor distillation(const at::Tensor& student, const at::Tensor& teacher, double temperature) const override {
    return per_example_distillation(student, teacher, temperature);
  }

  at::Tensor correct(const at::Tensor& logits, const at::Tensor& labels) const override {
    return logits.argmax(1).eq(labels);
  }

  int64_t outputs_per_example(const ArchSpec& s) const override { return s.at("classes"); }
  int64_t taskless_classes() const override { return 10; }

  ForwardCost forward_cost(const ArchSpec& s) const override {
    const Vit v(s);
    const double t = static_cast<double>(v.tokens()), w = static_cast<double>(v.width), m = static_cast<double>(v.mlp);
    const double h = static_cast<double>(v.heads), depth = static_cast<double>(v.depth);
    const double embed = 2 * (t - 1) * w * static_cast<double>(v.channels * v.patch * v.patch);
    const double layer = 2 * t * w * 3 * w + 4 * t * t * w + 2 * t * w * w + 4 * t * w * m + 20 * t * w;
    return {embed + depth * layer + 2 * w * static_cast<double>(v.classes), depth * (20 * t * w + 4 * t * m + 4 * t * t * h)};
  }
};

}  // namespace

const Family& vit_family() {
  static const VitFamily family;
  return family;
}

}  // namespace tal
