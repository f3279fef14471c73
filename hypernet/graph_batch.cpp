#include "hypernet/graph_batch.h"

#include "base/error.h"

namespace tal {

GraphBatch batch_graphs(const std::vector<const Graph*>& graphs) {
  TAL_ASSERT(!graphs.empty(), "empty meta-batch");
  int64_t n_max = 0;
  for (const Graph* g : graphs) n_max = std::max(n_max, g->size());
  const int64_t b = static_cast<int64_t>(graphs.size());
  GraphBatch out;
  out.ops = at::zeros({b, n_max}, at::kLong);
  out.shapes = at::full({b, n_max, 4}, -1, at::kLong);
  out.distances = at::zeros({b, n_max, n_max}, at::kLong);
  out.mask = at::zeros({b, n_max}, at::kBool);
  out.graphs = graphs;
  auto ops = out.ops.accessor<int64_t, 2>();
  auto shapes = out.shapes.accessor<int64_t, 3>();
  for (int64_t i = 0; i < b; ++i) {
    const Graph& g = *graphs[i];
    const int64_t n = g.size();
    for (int64_t j = 0; j < n; ++j) {
      ops[i][j] = static_cast<int64_t>(g.nodes[j].op);
      for (int k = 0; k < 4; ++k) shapes[i][j][k] = g.nodes[j].shape[k];
    }
    out.distances[i].narrow(0, 0, n).narrow(1, 0, n).copy_(g.distances);
    out.mask[i].narrow(0, 0, n).fill_(true);
  }
  return out;
}

}  // namespace tal
