#include "hypernet/hypernet_config.h"

#include <algorithm>
#include <sstream>
#include <utility>

#include "base/error.h"
#include "base/suggest.h"

namespace tal {

const std::vector<std::string>& hypernet_variant_names() {
  static const std::vector<std::string> names = {"ghn3", "logah", "tal"};
  return names;
}

const std::vector<std::string>& hypernet_base_names() {
  static const std::vector<std::string> names = {"none", "ancestry", "init"};
  return names;
}

const std::vector<SizeBound>& hypernet_size_bounds() {
  static const std::vector<SizeBound> bounds = {
      {"hidden", 4, 4096},          {"layers", 1, 64},           {"heads", 1, 256},
      {"rank", 1, 1024},            {"max_shape", 1, 65536},     {"spatial", 1, 64},
      {"max_ck", 1, int64_t{1} << 22}, {"num_classes", 1, 1000000}, {"task_dim", 1, 65536},
      {"task_layer", 0, 65536}};
  return bounds;
}

const SizeBound& hypernet_size_bound(const std::string& key) {
  for (const auto& b : hypernet_size_bounds())
    if (key == b.key) return b;
  TAL_ASSERT(false, "no bound for hypernet.", key);
  return hypernet_size_bounds().front();
}

void HypernetConfig::validate(const std::string& origin) const {
  TAL_REQUIRE(is_one_of(variant, hypernet_variant_names()), origin, ": key 'hypernet.variant': unknown '", variant,
              "' (expected ", join_choices(hypernet_variant_names()), ")");
  TAL_REQUIRE(is_one_of(base, hypernet_base_names()), origin, ": key 'hypernet.base': unknown '", base,
              "' (expected ", join_choices(hypernet_base_names()), ")");
  const std::pair<const char*, int64_t> values[] = {
      {"hidden", hidden},   {"layers", layers},           {"heads", heads},       {"rank", rank},
      {"max_shape", max_shape}, {"spatial", spatial},     {"max_ck", max_ck},     {"num_classes", num_classes},
      {"task_dim", task_dim}, {"task_layer", task_layer}};
  for (const auto& [key, v] : values) {
    const auto& b = hypernet_size_bound(key);
    TAL_REQUIRE(v >= b.min && v <= b.max, origin, ": key 'hypernet.", key, "': ", v, " is outside [", b.min, ", ",
                b.max, "]");
  }
  TAL_REQUIRE(hidden % heads == 0, origin, ": key 'hypernet.heads': ", heads, " does not divide hypernet.hidden ",
              hidden);
  TAL_REQUIRE(hidden % 4 == 0, origin, ": key 'hypernet.hidden': ", hidden,
              " must be a multiple of 4 (the shape encoder splits it in four)");
  if (low_rank())
    TAL_REQUIRE(max_ck >= max_shape, origin, ": key 'hypernet.max_ck': ", max_ck,
                " must be >= hypernet.max_shape ", max_shape, " (factors must cover the widest decoded dimension)");
}

int64_t HypernetConfig::parameter_count() const {
  auto mul = [](int64_t a, int64_t b) {
    int64_t r = 0;
    TAL_REQUIRE(!__builtin_mul_overflow(a, b, &r), "hypernet parameter count overflows 64-bit arithmetic");
    return r;
  };
  auto linear = [&](int64_t in, int64_t out, bool bias = true) { return mul(in, out) + (bias ? out : 0); };
  const int64_t d = hidden;
  // The shape encoder's vocabularies (shape_vocab.cpp): channels {1, 3, classes} + 7 + 252 + 129 steps, spatial
  // odd sizes below max(12, S) plus 14 and 16.
  int64_t channels = 0;
  {
    std::vector<int64_t> v = {1, 3, num_classes};
    for (int64_t c = 8; c < 64; c += 8) v.push_back(c);
    for (int64_t c = 64; c < 4096; c += 16) v.push_back(c);
    for (int64_t c = 4096; c <= 8192; c += 32) v.push_back(c);
    std::sort(v.begin(), v.end());
    channels = std::unique(v.begin(), v.end()) - v.begin();
  }
  int64_t spatial_sizes = 0;
  {
    std::vector<int64_t> v;
    for (int64_t s = 1; s < std::max<int64_t>(12, spatial); s += 2) v.push_back(s);
    v.push_back(14);
    v.push_back(16);
    std::sort(v.begin(), v.end());
    spatial_sizes = std::unique(v.begin(), v.end()) - v.begin();
  }
  int64_t n = mul(15, d) + mul(channels + 1, d / 4) + mul(spatial_sizes + 1, d / 4) + 2 * d;  // embed, shape_enc, ln
  for (int64_t l = 0; l < layers; ++l) {
    n += 2 * d + linear(d, 3 * d, false) + linear(d, d) + 2 * d + linear(d, 4 * d) + linear(4 * d, d);
    if (l == 0) n += mul(101 + 101 + 1001 + 257, d) + linear(2 * d, d) + linear(d, heads);
    if (film()) n += 2 * linear(task_dim, d);
  }
  if (film() && task_layer > 0) n += linear(task_dim, task_layer) + linear(task_layer, task_dim);
  if (low_rank()) {
    n += linear(d, 4 * d) + linear(4 * d, 8 * d) + linear(8 * d, mul(2 * rank, rank)) + linear(rank, max_ck);
    n += 2 + 2;  // the reference's 1x1 placeholders decoder_1d and bias_class
  } else {
    n += linear(d, mul(mul(4 * d, spatial), spatial)) + linear(4 * d, 8 * d) + linear(8 * d, mul(max_shape, max_shape));
    n += linear(max_shape, num_classes);                       // class_layer_predictor
    n += linear(d, 2 * d) + linear(2 * d, 2 * max_shape);     // decoder_1d
    n += linear(max_shape, num_classes);                       // bias_class
  }
  if (gated()) n += 15 * 2;  // inherit_gate: one per (op, weight/bias)
  return n;
}

std::string HypernetConfig::describe() const {
  std::ostringstream out;
  out << variant << " d=" << hidden << " L=" << layers << " H=" << heads;
  if (low_rank()) out << " r=" << rank << " ck=" << max_ck;
  out << " max_shape=" << max_shape << " s=" << spatial;
  if (film()) out << " task_dim=" << task_dim << (task_layer ? " task_layer=" + std::to_string(task_layer) : "");
  if (gated()) out << " base=" << base;
  if (low_rank() && !factor_bias) out << " factor_bias=false";
  return out.str();
}

}  // namespace tal
