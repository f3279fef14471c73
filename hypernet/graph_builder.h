// Closed-form graph construction shared by the families: nodes in topological order, one per weight tensor plus
// the parameter-free topology nodes, exactly as GHN-3's tracer would label them.
#pragma once

#include <initializer_list>
#include <string>
#include <unordered_map>
#include <vector>

#include "hypernet/graph.h"

namespace tal {

class GraphBuilder {
 public:
  explicit GraphBuilder(const ArchSpec& spec);

  const std::vector<int64_t>& shape_of(const std::string& param) const;
  int node(GraphNode n);
  // A parameter-free node (input, sum, softmax).
  int topo(Op op, const std::string& label);
  // A node predicting `name`, seen with the tensor's 4-D shape.
  int param(Op op, const std::string& name);
  // One LayerNorm node predicting `prefix`weight and `prefix`bias.
  int layer_norm(const std::string& prefix);
  void edge(int from, int to);
  // a -> b -> c ...; returns the last node.
  int chain(std::initializer_list<int> ids);
  // One pre-LN transformer block: ln_1 -> qkv w -> qkv b -> msa -> out w -> out b -> sum (+ skip from `in`), then
  // ln_2 -> fc1 w -> fc1 b -> fc2 w -> fc2 b -> sum (+ skip). Returns the block's last sum.
  int transformer_block(int in, const std::string& ln1, const std::string& qkv, const std::string& qkv_bias,
                        const std::string& out, const std::string& ln2, const std::string& fc1, const std::string& fc2);
  // Shortest-path distances over the real edges, capped at `cutoff`.
  Graph finish(int cutoff);

 private:
  std::unordered_map<std::string, std::vector<int64_t>> shapes_;
  Graph graph_;
};

// The shape encoder's 4-D view of a tensor: 1-D [n] -> (n,1,1,1), 2-D [o,i] -> (o,i,1,1), 4-D unchanged.
std::array<int64_t, 4> as4d(const std::vector<int64_t>& shape);

}  // namespace tal
