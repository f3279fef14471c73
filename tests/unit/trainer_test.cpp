// Pure rank logic and file handling of the trainer, in one process.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>

#include "datasets/h5.h"
#include "hypernet/error.h"
#include "trainer/checkpoint.h"
#include "trainer/losses.h"
#include "trainer/optimizer.h"
#include "trainer/work_plan.h"

namespace tal {
namespace {
namespace fs = std::filesystem;

TEST(WorkPlan, WholeUnitsBalancedLargestFirst) {
  const std::vector<int64_t> costs = {10, 70, 30, 40, 20, 60};
  for (int64_t world = 1; world <= 6; ++world) {
    const auto plan = plan_work(costs, 64, world);
    ASSERT_EQ(static_cast<int64_t>(plan.size()), world);
    std::set<int64_t> seen;
    std::vector<int64_t> load;
    for (const auto& rank : plan) {
      int64_t l = 0;
      for (const auto& p : rank) {
        EXPECT_TRUE(seen.insert(p.unit).second) << "unit " << p.unit << " twice";
        EXPECT_EQ(p.first, 0);
        EXPECT_EQ(p.count, 64);
        l += costs[static_cast<size_t>(p.unit)];
      }
      load.push_back(l);
    }
    EXPECT_EQ(seen.size(), costs.size());  // every unit exactly once
    // Greedy largest-first: no rank exceeds the average by more than the largest unit.
    const double avg = 230.0 / static_cast<double>(world);
    for (auto l : load) EXPECT_LE(l, avg + 70) << "world " << world;
  }
  const auto two = plan_work(costs, 64, 2);  // 70+30+20 = 120 vs 60+40+10 = 110
  EXPECT_EQ(std::accumulate(two[0].begin(), two[0].end(), int64_t{0},
                            [&](int64_t a, const WorkPiece& p) { return a + costs[static_cast<size_t>(p.unit)]; }),
            120);
}

TEST(WorkPlan, FewerUnitsThanRanksSplitImages) {
  for (int64_t world : {3, 4, 7, 8}) {
    const auto plan = plan_work({5, 9}, 10, world);
    std::vector<std::vector<int64_t>> covered(2);
    for (int64_t r = 0; r < world; ++r) {
      ASSERT_EQ(plan[static_cast<size_t>(r)].size(), 1u);
      const auto& p = plan[static_cast<size_t>(r)][0];
      EXPECT_EQ(p.unit, r % 2);
      for (int64_t i = p.first; i < p.first + p.count; ++i) covered[static_cast<size_t>(p.unit)].push_back(i);
    }
    for (auto& c : covered) {  // each unit's images exactly once across its ranks
      std::sort(c.begin(), c.end());
      std::vector<int64_t> all(10);
      std::iota(all.begin(), all.end(), 0);
      EXPECT_EQ(c, all);
    }
  }
}

TEST(Losses, PerImageTermsMatchTheBatchedForms) {
  const auto logits = at::randn({6, 4}), teacher = at::randn({6, 4});
  const auto labels = at::tensor({0, 1, 2, 3, 0, 1}, at::kLong);
  EXPECT_TRUE(at::allclose(per_image_cross_entropy(logits, labels, 0.1).mean(),
                           at::cross_entropy_loss(logits, labels, {}, at::Reduction::Mean, -100, 0.1)));
  const auto kd = per_image_distillation(logits, teacher, 3.0);
  EXPECT_TRUE(at::allclose(kd.mean(), at::kl_div(at::log_softmax(logits / 3, -1), at::log_softmax(teacher / 3, -1),
                                                 at::Reduction::None, /*log_target=*/true)
                                              .sum(-1)
                                              .mean() *
                                          9));
  EXPECT_NEAR(per_image_distillation(logits, logits, 2.0).abs().max().item<float>(), 0.f, 1e-6);
}

TEST(Optimizer, AdamWMatchesTheReferenceUpdate) {
  auto p = at::tensor({1.0, -2.0}, at::kDouble).requires_grad_(true);
  AdamW opt({p}, {0.9, 0.999, 1e-8, 0.1});
  p.mutable_grad() = at::tensor({0.5, 0.25}, at::kDouble);
  opt.step(0.01);
  // PyTorch AdamW, first step: p *= 1 - lr wd; m = 0.1 g; v = 0.001 g^2; p -= lr (m / 0.1) / (sqrt(v / 0.001) + eps)
  EXPECT_NEAR(p[0].item<double>(), 1.0 * (1 - 0.001) - 0.01 * 0.5 / (0.5 + 1e-8), 1e-12);
  EXPECT_NEAR(cosine_lr(1.0, 0, 10, 100), 0.1, 1e-12);
  EXPECT_NEAR(cosine_lr(1.0, 10, 10, 100), 1.0, 1e-12);
  EXPECT_NEAR(cosine_lr(1.0, 100, 10, 100), 0.0, 1e-12);
  auto q = at::zeros({3}).requires_grad_(true);
  q.mutable_grad() = at::tensor({3.0f, 4.0f, 0.0f});
  EXPECT_NEAR(clip_grad_norm({q}, 1.0), 5.0, 1e-6);
  EXPECT_NEAR(q.grad().norm().item<float>(), 1.0, 1e-4);
}

Checkpoint tiny_checkpoint(int64_t step) {
  Checkpoint c;
  c.state.step = step;
  c.state.cursors = {step * 8, 3};
  c.hypernet = {{"a.weight", at::full({2, 2}, static_cast<float>(step))}, {"b", at::ones({3})}};
  c.exp_avg = {{"a.weight", at::zeros({2, 2})}, {"b", at::zeros({3})}};
  c.exp_avg_sq = c.exp_avg;
  c.config_yaml = "run:\n  seed: 1\n";
  c.hypernet_variant = "logah";
  c.hypernet_describe = "logah test";
  c.rng = {at::arange(10, at::kByte)};
  return c;
}

TEST(Checkpoints, LatestRetentionAndRoundTrip) {
  const auto run = fs::temp_directory_path() / "tal_ckpt_test";
  fs::remove_all(run);
  EXPECT_EQ(latest_checkpoint(run.string()), "");
  for (int64_t s = 1; s <= 10; ++s) write_checkpoint(run.string(), tiny_checkpoint(s), /*keep=*/2, /*keep_every=*/4);
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(checkpoint_dir(run.string()))) files.insert(e.path().filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"latest", checkpoint_name(4), checkpoint_name(8), checkpoint_name(9),
                                          checkpoint_name(10)}));
  const auto path = latest_checkpoint(run.string());
  EXPECT_EQ(fs::path(path).filename().string(), checkpoint_name(10));
  const auto c = read_checkpoint(path);
  EXPECT_EQ(c.state.step, 10);
  EXPECT_EQ(c.state.cursors, (std::vector<int64_t>{80, 3}));
  EXPECT_EQ(c.hypernet[0].first, "a.weight");  // registration order survives
  EXPECT_TRUE(at::equal(c.hypernet[0].second, at::full({2, 2}, 10.f)));
  EXPECT_EQ(c.config_yaml, "run:\n  seed: 1\n");
  EXPECT_TRUE(at::equal(c.rng[0], at::arange(10, at::kByte)));
  // Another hypernet shape is refused, naming the parameter.
  try {
    check_compatible(path, c, {{"a.weight", at::zeros({3, 2})}, {"b", at::zeros({3})}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'a.weight'"), std::string::npos) << e.what();
  }
}

TEST(Checkpoints, BadFilesAreRefusedWithOneLine) {
  const auto dir = fs::temp_directory_path() / "tal_ckpt_bad";
  fs::create_directories(dir);
  auto error_of = [](const std::string& p) -> std::string {
    try {
      read_checkpoint(p);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  {
    H5File f((dir / "zoo.h5").string(), H5File::Mode::Truncate);
    f.set_attr("/", "kind", "tal-zoo");
  }
  EXPECT_NE(error_of((dir / "zoo.h5").string()).find("is a tal-zoo file, not a checkpoint"), std::string::npos);
  {
    H5File f((dir / "future.h5").string(), H5File::Mode::Truncate);
    f.set_attr("/", "kind", "tal-checkpoint");
    f.set_attr("/", "format_version", int64_t{99});
  }
  EXPECT_NE(error_of((dir / "future.h5").string()).find("format version 99"), std::string::npos);
  std::ofstream(dir / "text.h5") << "garbage";
  EXPECT_NE(error_of((dir / "text.h5").string()).find("not an HDF5 file"), std::string::npos);
  const auto run = fs::temp_directory_path() / "tal_ckpt_dangling";
  fs::create_directories(checkpoint_dir(run.string()));
  std::ofstream(fs::path(checkpoint_dir(run.string())) / "latest") << "step_00000007.h5\n";
  EXPECT_THROW(latest_checkpoint(run.string()), Error);
}

}  // namespace
}  // namespace tal
