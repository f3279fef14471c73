// A meta-batch of graphs of different sizes padded to one [B, N_max] tensor set with masks, as the encoder reads it.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "hypernet/graph.h"

namespace tal {

struct GraphBatch {
  at::Tensor ops;        // [B, N] int64 op ids (padding: 0)
  at::Tensor shapes;     // [B, N, 4] int64 node shapes (-1 for parameter-free and padded nodes)
  at::Tensor distances;  // [B, N, N] int64 shortest-path distances (0: none)
  at::Tensor mask;       // [B, N] bool, true for real nodes
  std::vector<const Graph*> graphs;
  int64_t batch() const { return ops.size(0); }
  int64_t max_nodes() const { return ops.size(1); }
};

GraphBatch batch_graphs(const std::vector<const Graph*>& graphs);

}  // namespace tal
