// GHN-3, LoGAH and TAL against the reference Python implementations (../shared/fixtures/ghn_reference.h5): the
// reference weights are loaded into our modules and every intermediate and predicted tensor is compared.
#include <gtest/gtest.h>

#include <set>

#include "datasets/h5.h"
#include "hypernet/hypernet.h"
#include "hypernet/param_binding.h"
#include "hypernet/reference_names.h"
#include "hypernet/shape_vocab.h"
#include "tests/test_util.h"

namespace tal {
namespace {

HypernetConfig config_of(const H5File& f, const std::string& fam) {
  const std::string g = "/" + fam;
  HypernetConfig c;
  c.variant = fam;
  c.hidden = f.attr_int(g, "hid");
  c.layers = f.attr_int(g, "layers");
  c.heads = f.attr_int(g, "heads");
  const auto max_shape = f.attr_ints(g, "max_shape");  // (M0, M1, S, S)
  c.max_shape = max_shape[0];
  c.spatial = max_shape[2];
  c.num_classes = f.attr_int(g, "num_classes");
  if (fam != "ghn3") {
    c.rank = f.attr_int(g, "lora_r");
    c.max_ck = f.attr_int(g, "max_ck_lora");
  }
  if (fam == "tal") c.task_dim = f.attr_int(g, "task_embedding_dim");
  return c;
}

class HypernetParity : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    path_ = test::reference_fixture();
    if (path_.empty()) GTEST_SKIP() << "../shared/fixtures/ghn_reference.h5 not found: hypernet parity not checked";
  }
  std::string path_;
};

TEST_P(HypernetParity, ReproducesEveryReferenceTensor) {
  const std::string fam = GetParam();
  H5File f(path_, H5File::Mode::Read);
  const HypernetConfig cfg = config_of(f, fam);
  Hypernet net(cfg);
  EXPECT_EQ(net.num_parameters(), f.attr_int("/" + fam, "num_params") - reference_only_param_count(fam, cfg))
      << "parameter count differs from the reference";

  // Load with the one name mapping; every reference tensor must be used or be a known reference-only name.
  std::set<std::string> used;
  net.load([&](const std::string& ours) {
    const std::string& theirs = ours;  // our modules carry the reference names
    used.insert(theirs);
    return f.exists("/" + fam + "/weights/" + theirs) ? f.read("/" + fam + "/weights/" + theirs) : at::Tensor();
  });
  std::function<void(const std::string&, const std::string&)> walk = [&](const std::string& group,
                                                                          const std::string& prefix) {
    for (const auto& c : f.children(group)) {
      const std::string name = prefix.empty() ? c : prefix + "." + c;
      if (f.is_dataset(group + "/" + c)) {
        if (!used.count(name)) {
          EXPECT_TRUE(is_reference_only_name(name)) << "reference tensor not loaded: " << name;
        }
      } else {
        walk(group + "/" + c, name);
      }
    }
  };
  walk("/" + fam + "/weights", "");

  const ShapeVocab vocab(cfg.num_classes, cfg.spatial);
  EXPECT_TRUE(at::equal(at::tensor(vocab.channels()), f.read("/" + fam + "/shape_vocab/channels")));
  EXPECT_TRUE(at::equal(at::tensor(vocab.spatial()), f.read("/" + fam + "/shape_vocab/spatial")));

  const auto images = f.read("/inputs/images");
  const std::vector<std::string> tasks = fam == "tal" ? std::vector<std::string>{"0", "1"} : std::vector<std::string>{""};
  at::NoGradGuard no_grad;
  for (const auto& task_id : tasks) {
    const at::Tensor task = fam == "tal" ? f.read("/tal/task_embedding/" + task_id) : at::Tensor();
    const std::string sub = task_id.empty() ? "" : task_id + "/";
    for (const auto& gname : f.children("/graphs")) {
      SCOPED_TRACE(fam + " task '" + task_id + "' " + gname);
      const std::string g = "/graphs/" + gname;
      const ArchSpec spec = ArchSpec::parse(f.attr_str(g, "spec"));
      const Graph graph = build_graph(spec);
      const GraphBatch batch = batch_graphs({&graph});

      // Encoder, step by step.
      EncoderTrace trace;
      net.encode(batch, task, &trace);
      const std::string inter = "/" + fam + "/intermediate/" + sub + gname;
      EXPECT_TRUE(at::equal(trace.shape_ind[0], f.read(inter + "/shape_ind")));
      EXPECT_TRUE(test::all_close("x0", trace.x0[0], f.read(inter + "/x0"), 1e-5, 1e-6));
      EXPECT_TRUE(test::all_close("edge_bias", trace.edge_bias[0], f.read(inter + "/edge_bias"), 1e-5, 1e-6));
      EXPECT_TRUE(test::all_close("x_layers", trace.x_layers.select(1, 0), f.read(inter + "/x_layers"), 1e-4, 1e-5));
      EXPECT_TRUE(test::all_close("x_enc", trace.x_enc[0], f.read(inter + "/x_enc"), 1e-4, 1e-5));
      if (fam == "tal") {
        EXPECT_TRUE(test::all_close("film_gamma", trace.film_gamma, f.read(inter + "/film_gamma"), 1e-5, 1e-6));
        EXPECT_TRUE(test::all_close("film_beta", trace.film_beta, f.read(inter + "/film_beta"), 1e-5, 1e-6));
      }

      // Grouping keys.
      const auto ref_key = f.read(inter + "/decoder_key");
      const auto ref_len = f.read(inter + "/decoder_key_len");
      for (const auto& b : bind_nodes(graph, cfg.max_shape4())) {
        ASSERT_EQ(static_cast<int64_t>(b.key.dims.size()), ref_len[b.node].item<int64_t>()) << "node " << b.node;
        for (size_t k = 0; k < b.key.dims.size(); ++k)
          EXPECT_EQ(b.key.dims[k], ref_key[b.node][static_cast<int64_t>(k)].item<int64_t>()) << "node " << b.node;
      }

      // Predicted tensors, with the reference's random class-token row reproduced from the graph's seed.
      PredictOptions opts;
      opts.class_row_seeds = {static_cast<uint64_t>(f.attr_int(g, "pred_seed"))};
      auto params = net.predict({&graph}, task, opts)[0];
      const std::string pred = "/" + fam + "/predicted/" + sub + gname;
      int checked = 0;
      for (const auto& name : f.children(pred)) {
        const auto ref = f.read(pred + "/" + name);
        ASSERT_TRUE(params.count(name)) << "not predicted: " << name;
        EXPECT_TRUE(test::all_close(name, params[name], ref, 1e-4, 1e-5 * ref.abs().max().item<double>()));
        ++checked;
      }
      const std::string omitted = "/" + fam + "/predicted_omitted/" + sub + gname;
      if (f.exists(omitted)) {
        for (const auto& name : f.children(omitted)) {
          const auto& p = params.at(name);
          const auto row0 = f.read(omitted + "/" + name);
          EXPECT_TRUE(test::all_close(name + " row 0", p[0], row0, 1e-4, 1e-5 * row0.abs().max().item<double>()));
          const double sum = f.attr_float(omitted + "/" + name, "sum"), sumsq = f.attr_float(omitted + "/" + name, "sumsq");
          EXPECT_NEAR(p.to(at::kDouble).sum().item<double>(), sum, 1e-4 * std::max(1.0, std::abs(sum))) << name;
          EXPECT_NEAR(p.to(at::kDouble).pow(2).sum().item<double>(), sumsq, 1e-4 * sumsq) << name;
          ++checked;
        }
      }
      EXPECT_EQ(checked + 1, static_cast<int>(param_table(spec).size()));  // everything but class_token
      const auto logits = target_forward(spec, params, images);
      const auto ref_logits = f.read("/" + fam + "/logits/" + sub + gname);
      EXPECT_TRUE(test::all_close("logits", logits, ref_logits, 1e-4, 1e-4 * ref_logits.abs().max().item<double>()));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, HypernetParity, ::testing::Values("ghn3", "logah", "tal"));

TEST(HypernetCounts, MatchTheReferenceConfigs) {
  const auto path = test::reference_fixture();
  if (path.empty()) GTEST_SKIP() << "../shared/fixtures/ghn_reference.h5 not found: reference counts not checked";
  H5File f(path, H5File::Mode::Read);
  auto count = [](HypernetConfig c) { return Hypernet(c).num_parameters(); };
  HypernetConfig ghn3;
  ghn3.variant = "ghn3";
  ghn3.hidden = 64;
  ghn3.layers = 3;
  ghn3.heads = 8;
  ghn3.max_shape = 64;
  ghn3.spatial = 16;
  ghn3.num_classes = 1000;
  EXPECT_EQ(count(ghn3), f.attr_int("/param_counts", "ghn3_T_hid64_L3_H8"));
  ghn3.spatial = 11;
  ghn3.num_classes = 100;
  EXPECT_EQ(count(ghn3), f.attr_int("/param_counts", "ghn3_T_hid64_L3_H8_cifar100"));
  ghn3.num_classes = 10;
  EXPECT_EQ(count(ghn3), f.attr_int("/param_counts", "ghn3_T_hid64_L3_H8_cifar10"));

  HypernetConfig logah;  // defaults: d=64 L=3 H=8 r=32 ck=32768 s=16
  logah.num_classes = 100;
  EXPECT_EQ(count(logah), f.attr_int("/param_counts", "logah_hid64_L3_H8_r32_c65ff40"));
  logah.hidden = 128;
  logah.layers = 5;
  logah.heads = 16;
  logah.rank = 90;
  EXPECT_EQ(count(logah), f.attr_int("/param_counts", "logah_hid128_L5_H16_r90_c65ff40"));
  HypernetConfig tal = logah;
  tal.variant = "tal";
  tal.num_classes = 1000;
  EXPECT_EQ(count(tal), f.attr_int("/param_counts", "tal_hid128_L5_H16_r90"));
}

}  // namespace
}  // namespace tal
