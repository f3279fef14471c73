// How graph nodes turn into parameter tensors: each parameter node gets a grouping key (nodes with one key are
// decoded by one batched call), the tensors it produces, and the post-processing the references apply to them:
// tiling to the target shape and the fan-in / sigmoid / tanh scaling.
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <string>
#include <vector>

#include "hypernet/graph.h"

namespace tal {

enum class KeyKind { Vector, ClassifierBias, ClassifierWeight, Matrix, Conv, PosEnc };

struct DecodeKey {
  KeyKind kind;
  std::vector<int64_t> dims;  // GHN-3's key tuple: (n, 0) | (n, -1) | (o, i) | (o, i, 1, 1) | (o, i, k, k) | (1, C, s, s)
  bool operator<(const DecodeKey& o) const { return dims != o.dims ? dims < o.dims : kind < o.kind; }
  bool operator==(const DecodeKey& o) const { return kind == o.kind && dims == o.dims; }
};

struct PredictedTensor {
  std::string name;
  std::vector<int64_t> shape;
  bool is_weight = true;  // 1-D: weight (2·sigmoid) or bias (tanh)
  int64_t row = 0;        // 1-D outputs: row 0 = weight, row 1 = bias
};

struct NodeBinding {
  int64_t node = 0;
  DecodeKey key;
  std::vector<PredictedTensor> tensors;  // LayerNorm nodes produce weight and bias
};

// max_shape = (max out channels, max in channels, S, S).
std::vector<NodeBinding> bind_nodes(const Graph& graph, const std::array<int64_t, 4>& max_shape);

// GHN-3's _tile_params: slice a decoded block to the target, repeat along out then in channels, centre-crop
// spatially. A 4-D positional-encoding block [1, C', s, s] becomes [1, s*s, C'] with `class_row` [1, 1, C']
// prepended before tiling along channels.
at::Tensor tile_to(const at::Tensor& w, const std::vector<int64_t>& target, const at::Tensor& class_row = {});

// Fan-in scaling (x sqrt(beta / fan_in)), 2·sigmoid(p/2) for 1-D weights and tanh(p/5) for biases, and what the
// family adds (Family::scaling: tensors left raw, extra factors such as GPT-2's residual 1/sqrt(2 n_layer)).
at::Tensor normalize_predicted(const ArchSpec& spec, const PredictedTensor& t, const at::Tensor& p);

}  // namespace tal
