#include <gtest/gtest.h>

#include <map>

#include "hypernet/graph.h"
#include "hypernet/graph_batch.h"

namespace tal {
namespace {

TEST(Graph, VitHas13DepthPlus8NodesAndBindsEveryPredictedParam) {
  for (int64_t depth : {1, 3, 12}) {
    auto spec = ArchSpec::parse("vit:depth=" + std::to_string(depth) + ",width=192,heads=3");
    const Graph g = build_graph(spec);
    EXPECT_EQ(g.size(), 13 * depth + 8);
    EXPECT_EQ(static_cast<int64_t>(g.edges.size()), 15 * depth + 7);
    std::map<std::string, int> bound;
    for (const auto& n : g.nodes) {
      if (!n.param.empty()) bound[n.param]++;
      if (!n.param_bias.empty()) bound[n.param_bias]++;
    }
    for (const auto& p : param_table(spec)) EXPECT_EQ(bound[p.name], is_predicted(spec, p.name) ? 1 : 0) << p.name;
    // Classifier weight and bias are the last two nodes: the hypernetwork finds them by position.
    EXPECT_EQ(g.nodes[g.size() - 2].param, "heads.head.weight");
    EXPECT_EQ(g.nodes.back().param, "heads.head.bias");
  }
}

TEST(Graph, DistancesAreShortestPathsCappedAtCutoff) {
  const Graph g = build_graph(ArchSpec::parse("vit:depth=12,width=192,heads=3"));
  const auto d = g.distances;
  EXPECT_EQ(d.triu(1).sum().item<int64_t>(), d.sum().item<int64_t>());  // strictly upper triangular (DAG)
  EXPECT_EQ((d == 1).sum().item<int64_t>(), static_cast<int64_t>(g.edges.size()));
  EXPECT_EQ(d[0][1].item<uint8_t>(), 1);
  EXPECT_EQ(d[0][3].item<uint8_t>(), 0);  // pos_enc has no incoming edge
  EXPECT_EQ(d.max().item<uint8_t>(), 33);  // longest shortest path of a 12-block ViT
  const Graph capped = build_graph(g.spec, 10);
  EXPECT_EQ(capped.distances.max().item<uint8_t>(), 10);
  EXPECT_TRUE(capped.distances.le(10).all().item<bool>());
  // Every capped entry equals the uncapped one where the latter is within the cutoff.
  auto within = (d > 0) & (d <= 10);
  EXPECT_TRUE(at::equal(capped.distances.masked_select(within), d.masked_select(within)));
  EXPECT_EQ((capped.distances > 0).logical_and(d > 10).sum().item<int64_t>(), 0);
}

TEST(Graph, Gpt2Graph) {
  const auto spec = ArchSpec::parse("gpt2:depth=3,width=64,heads=4,vocab=100,context=32");
  const Graph g = build_graph(spec);
  EXPECT_EQ(g.size(), 13 * 3 + 6);
  EXPECT_EQ(g.nodes[1].op, Op::PosEnc);
  EXPECT_EQ(g.nodes[1].param, "transformer.wte.weight");
  EXPECT_EQ(g.nodes.back().param, "lm_head.weight");
  int bound = 0;
  for (const auto& n : g.nodes) bound += !n.param.empty() + !n.param_bias.empty();
  EXPECT_EQ(bound, static_cast<int>(param_table(spec).size()));
}

TEST(GraphBatch, PadsToTheLargestGraphWithMasks) {
  const Graph a = build_graph(ArchSpec::parse("vit:depth=1,width=64,heads=2"));
  const Graph b = build_graph(ArchSpec::parse("vit:depth=3,width=64,heads=2"));
  const GraphBatch batch = batch_graphs({&a, &b});
  EXPECT_EQ(batch.batch(), 2);
  EXPECT_EQ(batch.max_nodes(), b.size());
  EXPECT_EQ(batch.mask[0].sum().item<int64_t>(), a.size());
  EXPECT_EQ(batch.mask[1].sum().item<int64_t>(), b.size());
  EXPECT_TRUE(at::equal(batch.distances[0].narrow(0, 0, a.size()).narrow(1, 0, a.size()),
                        a.distances.to(at::kLong)));
  EXPECT_EQ(batch.distances[0].narrow(0, a.size(), b.size() - a.size()).abs().sum().item<int64_t>(), 0);
  EXPECT_EQ(batch.ops[1][b.size() - 1].item<int64_t>(), static_cast<int64_t>(Op::Bias));
  EXPECT_EQ(batch.shapes[0][a.size()][0].item<int64_t>(), -1);
}

}  // namespace
}  // namespace tal
