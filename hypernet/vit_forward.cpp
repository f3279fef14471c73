#include <cmath>

#include "hypernet/error.h"
#include "hypernet/targets.h"

namespace tal {

const at::Tensor& param_at(const ArchSpec& spec, const ParamMap& params, const std::string& name) {
  const auto it = params.find(name);
  TAL_REQUIRE(it != params.end(), "parameter '", name, "' missing for ", spec.str());
  return it->second;
}

at::Tensor multi_head_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t heads,
                                bool causal) {
  const int64_t b = q.size(0), t = q.size(1), c = q.size(2), hd = c / heads;
  auto split = [&](const at::Tensor& x) { return x.reshape({b, t, heads, hd}).transpose(1, 2); };
  // Scale q before the product, as torch.nn.MultiheadAttention does.
  auto scores = at::matmul(split(q) / std::sqrt(static_cast<double>(hd)), split(k).transpose(-2, -1));
  if (causal) {
    auto future = at::ones({t, t}, q.options().dtype(at::kBool)).triu(1);
    scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
  }
  auto y = at::matmul(at::softmax(scores, -1), split(v));
  return y.transpose(1, 2).reshape({b, t, c});
}

namespace {

at::Tensor vit_encode(const ArchSpec& s, const ParamMap& p, const at::Tensor& images) {
  TAL_REQUIRE(s.family == Family::Vit, "vit_forward given a ", family_name(s.family), " spec");
  TAL_REQUIRE(images.dim() == 4 && images.size(1) == s.channels && images.size(2) == s.image &&
                  images.size(3) == s.image,
              "images of shape ", shape_str(images.sizes().vec()), " do not fit ", s.str(), " (expected [B, ",
              s.channels, ", ", s.image, ", ", s.image, "])");
  auto at_ = [&](const std::string& name) -> const at::Tensor& { return param_at(s, p, name); };
  const int64_t b = images.size(0), c = s.width;
  constexpr double eps = 1e-6;  // torchvision's ViT LayerNorm

  auto x = at::conv2d(images, at_("conv_proj.weight"), at_("conv_proj.bias"), {s.patch, s.patch});
  x = x.flatten(2).transpose(1, 2);  // [B, T, C]
  const auto cls_it = p.find("class_token");
  const auto cls = cls_it != p.end() ? cls_it->second : at::zeros({1, 1, c}, x.options());
  x = at::cat({cls.expand({b, 1, c}), x}, 1) + at_("encoder.pos_embedding");

  for (int64_t l = 0; l < s.depth; ++l) {
    const std::string pre = "encoder.layers.encoder_layer_" + std::to_string(l) + ".";
    auto y = at::layer_norm(x, {c}, at_(pre + "ln_1.weight"), at_(pre + "ln_1.bias"), eps);
    auto qkv = at::linear(y, at_(pre + "self_attention.in_proj_weight"), at_(pre + "self_attention.in_proj_bias"))
                   .chunk(3, -1);
    y = multi_head_attention(qkv[0], qkv[1], qkv[2], s.heads, /*causal=*/false);
    x = x + at::linear(y, at_(pre + "self_attention.out_proj.weight"), at_(pre + "self_attention.out_proj.bias"));
    y = at::layer_norm(x, {c}, at_(pre + "ln_2.weight"), at_(pre + "ln_2.bias"), eps);
    y = at::gelu(at::linear(y, at_(pre + "mlp.0.weight"), at_(pre + "mlp.0.bias")));
    x = x + at::linear(y, at_(pre + "mlp.3.weight"), at_(pre + "mlp.3.bias"));
  }
  x = at::layer_norm(x, {c}, at_("encoder.ln.weight"), at_("encoder.ln.bias"), eps);
  return x.select(1, 0);
}

}  // namespace

at::Tensor vit_features(const ArchSpec& spec, const ParamMap& params, const at::Tensor& images) {
  return vit_encode(spec, params, images);
}

at::Tensor vit_forward(const ArchSpec& spec, const ParamMap& params, const at::Tensor& images) {
  return at::linear(vit_encode(spec, params, images), param_at(spec, params, "heads.head.weight"),
                    param_at(spec, params, "heads.head.bias"));
}

at::Tensor target_forward(const ArchSpec& spec, const ParamMap& params, const at::Tensor& input) {
  return spec.family == Family::Vit ? vit_forward(spec, params, input) : gpt2_forward(spec, params, input);
}

}  // namespace tal
