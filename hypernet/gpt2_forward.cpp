#include "hypernet/error.h"
#include "hypernet/targets.h"

namespace tal {

at::Tensor gpt2_forward(const ArchSpec& s, const ParamMap& p, const at::Tensor& tokens) {
  TAL_REQUIRE(s.family == Family::Gpt2, "gpt2_forward given a ", family_name(s.family), " spec");
  TAL_REQUIRE(tokens.dim() == 2 && tokens.scalar_type() == at::kLong && tokens.size(1) <= s.context,
              "tokens of shape ", shape_str(tokens.sizes().vec()), " do not fit ", s.str(),
              " (expected int64 [B, T] with T <= ", s.context, ")");
  auto at_ = [&](const std::string& name) -> const at::Tensor& { return param_at(s, p, name); };
  const int64_t t = tokens.size(1), c = s.width;
  constexpr double eps = 1e-5;  // HF layer_norm_epsilon

  auto positions = at::arange(t, tokens.options());
  auto x = at::embedding(at_("transformer.wte.weight"), tokens) + at::embedding(at_("transformer.wpe.weight"), positions);
  // HF Conv1D: y = x @ W + b with W stored [in, out].
  auto conv1d = [&](const at::Tensor& in, const std::string& name) {
    return at::matmul(in, at_(name + ".weight")) + at_(name + ".bias");
  };
  for (int64_t l = 0; l < s.depth; ++l) {
    const std::string pre = "transformer.h." + std::to_string(l) + ".";
    auto y = at::layer_norm(x, {c}, at_(pre + "ln_1.weight"), at_(pre + "ln_1.bias"), eps);
    auto qkv = conv1d(y, pre + "attn.c_attn").chunk(3, -1);
    y = multi_head_attention(qkv[0], qkv[1], qkv[2], s.heads, /*causal=*/true);
    x = x + conv1d(y, pre + "attn.c_proj");
    y = at::layer_norm(x, {c}, at_(pre + "ln_2.weight"), at_(pre + "ln_2.bias"), eps);
    y = at::gelu(conv1d(y, pre + "mlp.c_fc"), "tanh");  // HF "gelu_new"
    x = x + conv1d(y, pre + "mlp.c_proj");
  }
  x = at::layer_norm(x, {c}, at_("transformer.ln_f.weight"), at_("transformer.ln_f.bias"), eps);
  return at::matmul(x, at_("lm_head.weight").t());
}

}  // namespace tal
