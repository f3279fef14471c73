#include "hypernet/targets.h"

#include <cmath>
#include <limits>

#include "base/error.h"
#include "hypernet/family.h"

namespace tal {

at::Tensor target_forward(const ArchSpec& spec, const ParamMap& params, const at::Tensor& input,
                          const BlockHooks* hooks) {
  return spec.family().forward(spec, params, input, hooks);
}

at::Tensor target_features(const ArchSpec& spec, const ParamMap& params, const at::Tensor& input,
                           const BlockHooks* hooks) {
  return spec.family().features(spec, params, input, hooks);
}

ParamMap init_params(const ArchSpec& spec, uint64_t seed) { return spec.family().init(spec, seed); }

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

}  // namespace tal
