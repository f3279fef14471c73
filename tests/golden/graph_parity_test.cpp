// Closed-form graphs against the graphs GHN-3's own tracer built (../shared/fixtures/ghn_reference.h5 /graphs).
#include <gtest/gtest.h>

#include "datasets/h5.h"
#include "hypernet/graph.h"
#include "tests/test_util.h"

namespace tal {
namespace {

TEST(GraphParity, MatchesTheReferenceTracerNodeForNode) {
  const auto path = test::reference_fixture();
  if (path.empty()) GTEST_SKIP() << "../shared/fixtures/ghn_reference.h5 not found: reference parity not checked";
  H5File f(path, H5File::Mode::Read);
  const auto ops = f.attr_strings("/graphs", "ops");
  ASSERT_EQ(static_cast<int64_t>(ops.size()), kNumOps);
  for (int64_t i = 0; i < kNumOps; ++i) EXPECT_EQ(ops[static_cast<size_t>(i)], op_name(static_cast<Op>(i)));
  EXPECT_EQ(f.attr_int("/graphs", "ve_cutoff"), kVirtualEdgeCutoff);

  const auto names = f.children("/graphs");
  ASSERT_EQ(names.size(), 5u);
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    const std::string g = "/graphs/" + name;
    const ArchSpec spec = ArchSpec::parse(f.attr_str(g, "spec"));
    EXPECT_EQ(count_params(spec, false), f.attr_int(g, "vit_num_params"));
    const Graph graph = build_graph(spec);
    ASSERT_EQ(graph.size(), f.attr_int(g, "n_nodes"));

    const auto ref_op = f.read(g + "/node_op");
    const auto ref_shape = f.read(g + "/node_shape");
    const auto ref_param = f.read_strings(g + "/node_param");
    const auto ref_bias = f.read_strings(g + "/node_param_bias");
    const auto ref_name = f.read_strings(g + "/node_name");
    for (int64_t i = 0; i < graph.size(); ++i) {
      const auto& n = graph.nodes[static_cast<size_t>(i)];
      EXPECT_EQ(static_cast<int64_t>(n.op), ref_op[i].item<int64_t>()) << "node " << i;
      for (int k = 0; k < 4; ++k) EXPECT_EQ(n.shape[k], ref_shape[i][k].item<int64_t>()) << "node " << i;
      EXPECT_EQ(n.param, ref_param[static_cast<size_t>(i)]) << "node " << i;
      EXPECT_EQ(n.param_bias, ref_bias[static_cast<size_t>(i)]) << "node " << i;
      EXPECT_EQ(n.name, ref_name[static_cast<size_t>(i)]) << "node " << i;
    }
    const auto ref_edges = f.read(g + "/edges");
    ASSERT_EQ(ref_edges.scalar_type(), at::kByte);
    const auto diff = (graph.distances.to(at::kInt) - ref_edges.to(at::kInt)).nonzero();
    EXPECT_EQ(diff.size(0), 0) << "distance matrices differ first at (" << (diff.size(0) ? diff[0][0].item<int64_t>() : -1)
                               << ", " << (diff.size(0) ? diff[0][1].item<int64_t>() : -1) << ")";
  }
}

}  // namespace
}  // namespace tal
