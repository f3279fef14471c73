#include "hypernet/graph_builder.h"

#include <deque>

#include "base/error.h"

namespace tal {

std::array<int64_t, 4> as4d(const std::vector<int64_t>& s) {
  if (s.size() == 1) return {s[0], 1, 1, 1};
  if (s.size() == 2) return {s[0], s[1], 1, 1};
  TAL_ASSERT(s.size() == 4, "unexpected rank ", s.size());
  return {s[0], s[1], s[2], s[3]};
}

GraphBuilder::GraphBuilder(const ArchSpec& spec) {
  graph_.spec = spec;
  for (auto& p : param_table(spec)) shapes_.emplace(p.name, std::move(p.shape));
}

const std::vector<int64_t>& GraphBuilder::shape_of(const std::string& name) const {
  const auto it = shapes_.find(name);
  TAL_ASSERT(it != shapes_.end(), "no parameter ", name);
  return it->second;
}

int GraphBuilder::node(GraphNode n) {
  graph_.nodes.push_back(std::move(n));
  return static_cast<int>(graph_.nodes.size()) - 1;
}

int GraphBuilder::topo(Op op, const std::string& label) { return node({op, kNoShape, "", "", label}); }

int GraphBuilder::param(Op op, const std::string& name) { return node({op, as4d(shape_of(name)), name, "", name}); }

int GraphBuilder::layer_norm(const std::string& prefix) {
  return node({Op::Ln, as4d(shape_of(prefix + "weight")), prefix + "weight", prefix + "bias", prefix + "weight"});
}

void GraphBuilder::edge(int a, int b) { graph_.edges.emplace_back(a, b); }

int GraphBuilder::chain(std::initializer_list<int> ids) {
  int prev = -1;
  for (int id : ids) {
    if (prev >= 0) edge(prev, id);
    prev = id;
  }
  return prev;
}

int GraphBuilder::transformer_block(int in, const std::string& ln1, const std::string& qkv, const std::string& qkv_bias,
                                    const std::string& out, const std::string& ln2, const std::string& fc1,
                                    const std::string& fc2) {
  const int a = layer_norm(ln1);
  const int qw = param(Op::Conv, qkv), qb = param(Op::Bias, qkv_bias);
  const int sm = topo(Op::Msa, "SoftmaxBackward0");
  const int ow = param(Op::Conv, out + "weight"), ob = param(Op::Bias, out + "bias");
  const int s1 = topo(Op::Sum, "AddBackward0");
  chain({in, a, qw, qb, sm, ow, ob, s1});
  edge(in, s1);
  const int b = layer_norm(ln2);
  const int f1w = param(Op::Conv, fc1 + "weight"), f1b = param(Op::Bias, fc1 + "bias");
  const int f2w = param(Op::Conv, fc2 + "weight"), f2b = param(Op::Bias, fc2 + "bias");
  const int s2 = topo(Op::Sum, "AddBackward0");
  chain({s1, b, f1w, f1b, f2w, f2b, s2});
  edge(s1, s2);
  return s2;
}

Graph GraphBuilder::finish(int cutoff) {
  const auto n = static_cast<int64_t>(graph_.nodes.size());
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(n));
  for (auto [a, b] : graph_.edges) {
    TAL_ASSERT(a < b, "nodes must be in topological order");
    out[static_cast<size_t>(a)].push_back(b);
  }
  graph_.distances = at::zeros({n, n}, at::kByte);
  auto* d = graph_.distances.data_ptr<uint8_t>();
  std::vector<int> dist(static_cast<size_t>(n));
  std::deque<int64_t> queue;
  for (int64_t src = 0; src < n; ++src) {
    std::fill(dist.begin(), dist.end(), -1);
    dist[static_cast<size_t>(src)] = 0;
    queue.assign(1, src);
    while (!queue.empty()) {
      const int64_t u = queue.front();
      queue.pop_front();
      if (dist[static_cast<size_t>(u)] >= cutoff) continue;
      for (int64_t v : out[static_cast<size_t>(u)])
        if (dist[static_cast<size_t>(v)] < 0) {
          dist[static_cast<size_t>(v)] = dist[static_cast<size_t>(u)] + 1;
          d[src * n + v] = static_cast<uint8_t>(dist[static_cast<size_t>(v)]);
          queue.push_back(v);
        }
    }
  }
  return std::move(graph_);
}

}  // namespace tal
