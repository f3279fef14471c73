// The computation graph of an architecture, built in closed form (no tracing) exactly as GHN-3's tracer would
// produce it: GHN-3's 15-op vocabulary, one node per weight tensor plus parameter-free topology nodes, 4-slot node
// shapes, and all-pairs shortest-path distances over the real edges, capped at the virtual-edge cutoff.
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "hypernet/arch_spec.h"

namespace tal {

// GHN-3 / ppuda op vocabulary; the index is the op id seen by the hypernetwork.
enum class Op : int64_t {
  MaxPool = 0, AvgPool, SepConv, DilConv, Conv, Msa, Cse, Sum, Concat, Input, Bias, Bn, Ln, PosEnc, GlobAvg
};
constexpr int64_t kNumOps = 15;
const char* op_name(Op op);

struct GraphNode {
  Op op;
  std::array<int64_t, 4> shape;  // (c_out, c_in, k_h, k_w) as the shape encoder sees it; -1s if parameter-free
  std::string param;             // parameter this node predicts ("" if none)
  std::string param_bias;        // LayerNorm bias produced by the same node ("" otherwise)
  std::string name;              // tracer label: parameter name, "input", "AddBackward0", "SoftmaxBackward0"
};

constexpr std::array<int64_t, 4> kNoShape = {-1, -1, -1, -1};

struct Graph {
  ArchSpec spec;
  std::vector<GraphNode> nodes;
  std::vector<std::pair<int, int>> edges;  // real edges (source, target), nodes in topological order
  at::Tensor distances;                    // [N, N] uint8: d(i -> j) in 1..cutoff, 0 if i == j or unreachable
  int64_t size() const { return static_cast<int64_t>(nodes.size()); }
};

constexpr int kVirtualEdgeCutoff = 50;

Graph build_graph(const ArchSpec& spec, int cutoff = kVirtualEdgeCutoff);

}  // namespace tal
