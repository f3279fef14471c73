// The fair fine-tuning protocol: the validation slice, the learning-rate choice (validation only), symmetry-breaking
// noise, paired differences with bootstrap intervals, and zoo membership.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "hypernet/arch_spec.h"
#include "hypernet/family.h"
#include "hypernet/zoo.h"
#include "tests/test_util.h"
#include "trainer/files/finetune_statistics.h"
#include "trainer/finetune/protocol.h"

namespace tal {
namespace {

TEST(Protocol, ValidationSliceIsFixedDisjointAndCoversTheTrainingSplit) {
  const auto a = validation_split(1000, 0.1, 42);
  EXPECT_EQ(a.val.size(), 100u);
  EXPECT_EQ(a.train.size(), 900u);
  std::vector<int64_t> all = a.train;
  all.insert(all.end(), a.val.begin(), a.val.end());
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(all[static_cast<size_t>(i)], i);  // disjoint, and together all
  EXPECT_TRUE(std::is_sorted(a.val.begin(), a.val.end()));
  // A pure function of (n, fraction, seed): every rank, initialisation and resume holds back the same images.
  const auto again = validation_split(1000, 0.1, 42);
  EXPECT_EQ(again.val, a.val);
  EXPECT_NE(validation_split(1000, 0.1, 43).val, a.val);
  // Not simply the first or last images: drawn from the whole split.
  EXPECT_LT(a.val.front(), 100);
  EXPECT_GT(a.val.back(), 900);
  EXPECT_TRUE(validation_split(50, 0.0, 1).val.empty());
}

FinetuneCell run(const std::string& init, double lr, int64_t seed, double val, double test) {
  FinetuneCell c;
  c.key = init + std::to_string(lr) + std::to_string(seed);
  c.task = "t";
  c.arch_id = "a";
  c.init = init;
  c.lr = lr;
  c.seed = seed;
  c.val_accuracy = val;
  c.eval_steps = {0, 10};
  c.accuracy = {0.1, test};
  return c;
}

// A learning rate that would win on test but loses on validation is not chosen: test is never read.
TEST(Protocol, LearningRateIsChosenOnValidationOnly) {
  FinetuneResults r;
  for (int64_t s = 0; s < 3; ++s) {
    r.cells.push_back(run("x", 1e-3, s, 0.70, 0.60));  // better validation
    r.cells.push_back(run("x", 3e-3, s, 0.65, 0.90));  // planted: far better on test
    r.cells.push_back(run("y", 1e-3, s, 0.50, 0.50));
    r.cells.push_back(run("y", 3e-3, s, 0.55, 0.40));
  }
  const auto chosen = choose_learning_rates(r.cells);
  EXPECT_EQ(chosen.at({"t", "x", "own", "full"}), 1e-3);
  EXPECT_EQ(chosen.at({"t", "y", "own", "full"}), 3e-3);
  const auto sel = selected_runs(r);
  ASSERT_EQ(sel.cells.size(), 6u);
  for (const auto& c : sel.cells) EXPECT_EQ(c.lr, c.init == "x" ? 1e-3 : 3e-3);
  // A tie goes to the smaller rate.
  FinetuneResults tie;
  tie.cells = {run("z", 1e-3, 0, 0.5, 0.1), run("z", 1e-4, 0, 0.5, 0.9)};
  EXPECT_EQ(choose_learning_rates(tie.cells).at({"t", "z", "own", "full"}), 1e-4);
}

TEST(Protocol, PairedDifferenceAgainstABaselineWithABootstrapInterval) {
  FinetuneResults r;
  for (int64_t s = 0; s < 8; ++s) {
    r.cells.push_back(run("random", 1e-3, s, 0, 0.50));
    r.cells.push_back(run("x", 1e-3, s, 0, 0.50 + 0.01 * static_cast<double>(s % 4)));  // +0, +1, +2, +3 points
  }
  const auto p = paired_against(r, "t", "x", "random");
  EXPECT_EQ(p.pairs, 8);
  EXPECT_EQ(p.wins, 6);  // the two +0 pairs are not wins
  EXPECT_NEAR(p.diff.mean, 0.015, 1e-12);
  EXPECT_LE(p.diff.lo, p.diff.mean);
  EXPECT_GE(p.diff.hi, p.diff.mean);
  EXPECT_GE(p.diff.lo, 0.0);
  EXPECT_LE(p.diff.hi, 0.03);
  EXPECT_LT(p.diff.hi - p.diff.lo, 0.03);
  // The same file, the same interval.
  const auto q = paired_against(r, "t", "x", "random");
  EXPECT_EQ(q.diff.lo, p.diff.lo);
  EXPECT_EQ(q.diff.hi, p.diff.hi);
  // A filter keeps only some pairs.
  EXPECT_EQ(paired_against(r, "t", "x", "random", [](const FinetuneCell& c) { return c.seed < 2; }).pairs, 2);
}

// ppuda's noise breaks tied copies (a tiled decoder's repeated blocks) and does nothing at beta = 0; the classifier
// and the tensors marked as not predicted are left alone.
TEST(Protocol, SymmetryBreakingNoiseUntiesCopiesAndIsOffAtBetaZero) {
  const auto spec = ArchSpec::parse("vit:depth=1,width=32,heads=2,mlp=64,patch=4,image=28,channels=1,classes=4");
  ParamMap p = init_params(spec, 3);
  // Tie the MLP's two 32-unit halves and the q/k/v blocks, as GHN-3's decoder does at width 32.
  const std::string mlp = "encoder.layers.encoder_layer_0.mlp.0.weight";
  const std::string qkv = "encoder.layers.encoder_layer_0.self_attention.in_proj_weight";
  p[mlp] = p[mlp].detach().narrow(0, 0, 32).repeat({2, 1});
  p[qkv] = p[qkv].detach().narrow(0, 0, 32).repeat({3, 1});
  p["heads.head.weight"] = at::randn({4, 32});
  const ParamMap before = [&] {
    ParamMap c;
    for (const auto& [n, t] : p) c[n] = t.detach().clone();
    return c;
  }();
  auto skip = [](const std::string& name) { return name.rfind("heads.head.", 0) == 0 || name == "class_token"; };

  ParamMap zero = before;
  break_symmetry(param_table(spec), zero, 0.0, 7, skip);
  for (const auto& [n, t] : before) EXPECT_TRUE(at::equal(zero.at(n), t)) << n << " changed at beta 0";

  ParamMap noisy = before;
  break_symmetry(param_table(spec), noisy, 1e-2, 7, skip);
  EXPECT_TRUE(at::equal(before.at(mlp).narrow(0, 0, 32), before.at(mlp).narrow(0, 32, 32)));
  EXPECT_FALSE(at::equal(noisy.at(mlp).narrow(0, 0, 32), noisy.at(mlp).narrow(0, 32, 32)));
  EXPECT_FALSE(at::equal(noisy.at(qkv).narrow(0, 0, 32), noisy.at(qkv).narrow(0, 32, 32)));
  // LayerNorm weight and bias get noise too; linear biases, the head and unpredicted tensors do not.
  EXPECT_FALSE(at::equal(noisy.at("encoder.layers.encoder_layer_0.ln_2.weight"),
                         before.at("encoder.layers.encoder_layer_0.ln_2.weight")));
  EXPECT_FALSE(at::equal(noisy.at("encoder.layers.encoder_layer_0.ln_2.bias"),
                         before.at("encoder.layers.encoder_layer_0.ln_2.bias")));
  EXPECT_TRUE(at::equal(noisy.at("encoder.layers.encoder_layer_0.mlp.0.bias"),
                        before.at("encoder.layers.encoder_layer_0.mlp.0.bias")));
  EXPECT_TRUE(at::equal(noisy.at("heads.head.weight"), before.at("heads.head.weight")));
  EXPECT_TRUE(at::equal(noisy.at("class_token"), before.at("class_token")));
  // Small: beta x the std of the weights' correlations (below 1), so at most a few percent of the weights' scale.
  const double rel = (noisy.at(mlp) - before.at(mlp)).std().item<double>() / before.at(mlp).std().item<double>();
  EXPECT_GT(rel, 0.0);
  EXPECT_LT(rel, 0.2);
  // The same seed, the same noise.
  ParamMap again = before;
  break_symmetry(param_table(spec), again, 1e-2, 7, skip);
  EXPECT_TRUE(at::equal(again.at(mlp), noisy.at(mlp)));
}

TEST(Protocol, CorrelationStdOfTiedRowsAndConstantRows) {
  // Rows that are copies of two distinct rows: correlations of +1 and of the two rows' correlation.
  auto base = at::randn({2, 16}, at::kDouble);
  EXPECT_GT(correlation_std(base.repeat({4, 1})), 0.0);
  // Constant rows have no correlation: left out, and no usable pair means 0.
  EXPECT_EQ(correlation_std(at::ones({8, 16})), 0.0);
  // A tall matrix is capped at max_rows rows.
  EXPECT_GT(correlation_std(at::randn({5000, 8}), 64), 0.0);
}

TEST(Protocol, ZooMembership) {
  ZooRules r;
  r.rules = "vits-1k";
  r.profile = "cpu-small";
  r.data = DataShape{1, 28, 28, 0, 0, 4};
  const ArchSpec drawn = sample_arch(r, 0, 5);
  EXPECT_TRUE(zoo_contains(r, drawn));
  // cpu-small ViTs-1K: depth 3-6, width >= 64, heads 3-12; two heads and width 32 are never drawn.
  auto spec = [&](const std::string& s) {
    ArchSpec a = ArchSpec::parse(s, drawn.family().defaults_for(r.data));
    return a;
  };
  EXPECT_FALSE(zoo_contains(r, spec("vit:depth=2,width=32,heads=2")));
  EXPECT_FALSE(zoo_contains(r, spec("vit:depth=4,width=64,heads=2")));
  EXPECT_TRUE(zoo_contains(r, spec("vit:depth=5,width=64,heads=4")));
}

}  // namespace
}  // namespace tal
