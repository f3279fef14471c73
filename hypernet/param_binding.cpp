#include "hypernet/param_binding.h"

#include <cmath>

#include <unordered_map>

#include "base/error.h"
#include "hypernet/family.h"

namespace tal {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

std::vector<NodeBinding> bind_nodes(const Graph& graph, const std::array<int64_t, 4>& max_shape) {
  std::unordered_map<std::string, std::vector<int64_t>> table;
  for (auto& p : param_table(graph.spec)) table.emplace(p.name, std::move(p.shape));
  auto shape_of = [&](const std::string& name) -> const std::vector<int64_t>& {
    const auto it = table.find(name);
    TAL_ASSERT(it != table.end(), "no parameter ", name);
    return it->second;
  };
  // GHN-3's min_sz: cap at max_shape, round multiples of 3 up to multiples of 4, snap >= max/2 to max.
  auto round_dim = [&](int64_t v, int j) {
    int64_t n = std::min(v, max_shape[j]);
    if (n % 3 == 0) n = n / 3 * 4;
    if (2 * n >= max_shape[j]) n = max_shape[j];
    return n;
  };
  // The classifier is recognised by position, as in the reference: the last weight node and the last bias node.
  // (ViT: heads.head.weight and heads.head.bias; GPT-2: lm_head.weight, which has no bias.)
  int64_t last_weight = -1, last_bias = -1;
  for (int64_t i = 0; i < graph.size(); ++i) {
    const auto& n = graph.nodes[static_cast<size_t>(i)];
    if (!n.param.empty() && shape_of(n.param).size() > 1) last_weight = i;
  }
  if (last_weight >= 0 && last_weight + 1 < graph.size() &&
      graph.nodes[static_cast<size_t>(last_weight + 1)].op == Op::Bias)
    last_bias = last_weight + 1;
  std::vector<NodeBinding> out;
  for (int64_t i = 0; i < graph.size(); ++i) {
    const auto& n = graph.nodes[static_cast<size_t>(i)];
    if (n.param.empty()) continue;
    const auto& sz = shape_of(n.param);
    NodeBinding b;
    b.node = i;
    if (sz.size() == 1) {
      const bool cls = i == last_bias;
      b.key = {cls ? KeyKind::ClassifierBias : KeyKind::Vector, {round_dim(sz[0], 0), cls ? -1 : 0}};
      const bool is_bias_node = n.op == Op::Bias;
      b.tensors.push_back({n.param, sz, !is_bias_node, is_bias_node ? 1 : 0});
      if (!n.param_bias.empty()) b.tensors.push_back({n.param_bias, shape_of(n.param_bias), false, 1});
    } else if (i == last_weight) {
      b.key = {KeyKind::ClassifierWeight, {round_dim(sz[0], 0), round_dim(sz[1], 1)}};
      b.tensors.push_back({n.param, sz, true, 0});
    } else if (sz.size() == 2) {
      b.key = {KeyKind::Matrix, {round_dim(sz[0], 0), round_dim(sz[1], 1), 1, 1}};
      b.tensors.push_back({n.param, sz, true, 0});
    } else if (sz.size() == 3) {
      TAL_ASSERT(sz[0] == 1 && sz[1] > 1 && sz[2] > 1, "unsupported 3-D parameter ", n.param);
      const auto s = static_cast<int64_t>(std::floor(std::sqrt(static_cast<double>(sz[1]))));
      b.key = {KeyKind::PosEnc, {1, sz[2], s, s}};
      b.tensors.push_back({n.param, sz, true, 0});
    } else {
      b.key = {KeyKind::Conv, {round_dim(sz[0], 0), round_dim(sz[1], 1), sz[2], sz[3]}};
      b.tensors.push_back({n.param, sz, true, 0});
    }
    out.push_back(std::move(b));
  }
  return out;
}

at::Tensor tile_to(const at::Tensor& w_in, const std::vector<int64_t>& t, const at::Tensor& class_row) {
  using at::indexing::Slice;
  at::Tensor w = w_in;
  const auto s = w.sizes().vec();
  auto centre = [](const at::Tensor& x, int64_t dim, int64_t k) {  // centre crop of size k along dim
    const int64_t off = x.size(dim) / 2;
    const int64_t lo = std::max<int64_t>(0, off - k / 2);
    return x.slice(dim, lo, off + ceil_div(k, 2));
  };
  if (t.size() == 1) {
    if (s.size() == 1) w = w.slice(0, 0, std::min(t[0], s[0]));
    else if (s.size() == 2) w = w.slice(0, 0, std::min(t[0], s[0])).select(1, 0);
    else w = w.slice(0, 0, std::min(t[0], s[0])).select(1, 0).select(-2, s[s.size() - 2] / 2).select(-1, s.back() / 2);
  } else if (t.size() == 2) {
    w = w.slice(0, 0, std::min(t[0], s[0])).slice(1, 0, std::min(t[1], s[1]));
    if (s.size() > 2) w = w.select(-2, s[s.size() - 2] / 2).select(-1, s.back() / 2);
  } else if (t.size() == 3) {
    if (s.size() == 3) {
      w = w.slice(0, 0, std::min(t[0], s[0])).slice(1, 0, std::min(t[1], s[1])).slice(2, 0, std::min(t[2], s[2]));
    } else {
      // Positional encoding: [1, C', s, s] -> [1, s*s, C'], then the class-token row in front.
      w = w.reshape({s[0], s[1], -1}).permute({0, 2, 1});
      w = w.slice(0, 0, std::min(t[0], w.size(0))).slice(1, 0, std::min(t[1], w.size(1)))
              .slice(2, 0, std::min(t[2], w.size(2)));
      TAL_ASSERT(class_row.defined() && class_row.size(2) == w.size(2), "positional encoding needs a class row");
      w = at::cat({class_row.to(w.dtype()), w}, 1);
    }
  } else {
    TAL_ASSERT(t.size() == 4, "unsupported target rank ", t.size());
    if (s.size() > 2) {
      w = w.slice(0, 0, std::min(t[0], s[0])).slice(1, 0, std::min(t[1], s[1]));
      w = centre(centre(w, 2, std::min(t[2], s[2])), 3, std::min(t[3], s.size() > 3 ? s[3] : 1));
    } else {
      w = w.slice(0, 0, std::min(t[0], s[0])).slice(1, 0, std::min(t[1], s[1])).unsqueeze(2).unsqueeze(3);
    }
  }
  // Tile out-channels, then in-channels (or the channel axis of a positional encoding), then cut to size.
  if (t[0] > w.size(0)) {
    std::vector<int64_t> reps(w.dim(), 1);
    reps[0] = ceil_div(t[0], w.size(0));
    w = w.repeat(reps).slice(0, 0, t[0]);
  }
  if (t.size() > 1) {
    if (t[1] > w.size(1)) {
      std::vector<int64_t> reps(w.dim(), 1);
      reps[1] = ceil_div(t[1], w.size(1));
      w = w.repeat(reps).slice(1, 0, t[1]);
    } else if (t.size() == 3 && t[2] > w.size(2)) {
      w = w.repeat({1, 1, ceil_div(t[2], w.size(2))}).slice(2, 0, t[2]);
    }
  }
  const size_t sliced = t.size() == 4 ? 2 : t.size();
  for (size_t d = 0; d < sliced; ++d) w = w.slice(static_cast<int64_t>(d), 0, t[d]);
  if (t.size() == 4) w = centre(centre(w, 2, t[2]), 3, t[3]);
  TAL_ASSERT(w.sizes().vec() == t, "tiling produced ", shape_str(w.sizes().vec()), " for target ", shape_str(t));
  return w;
}

at::Tensor normalize_predicted(const ArchSpec& spec, const PredictedTensor& t, const at::Tensor& p) {
  if (p.dim() == 1) return t.is_weight ? 2 * at::sigmoid(0.5 * p) : at::tanh(0.2 * p);
  const PredictedScaling family = spec.family().scaling(spec, t.name);
  if (family.raw) return p;
  const auto sz = p.sizes();
  const bool no_relu = p.dim() > 2 && (sz[1] == 1 || sz[2] < sz[3]);
  const double beta = no_relu ? 1.0 : 2.0;
  double scale = std::sqrt(beta / static_cast<double>(p[0].numel()));
  if (family.divisor != 1.0) scale /= family.divisor;
  return p * scale;
}

}  // namespace tal
