// The training loop's pieces in one process: the step planner over ranks, losses, the optimizer and reduced update,
// the run schedule, and a whole Trainer on a small synthetic task store (repeatable, resumable, fault seam).
#include <gtest/gtest.h>

#include <numeric>
#include <set>

#include "base/error.h"
#include "datasets/task_store.h"
#include "datasets/tasks.h"
#include "dist/dist_context.h"
#include "dist/communicator.h"
#include "hypernet/family.h"
#include "hypernet/hypernet_config.h"
#include "base/rng.h"
#include "tests/test_util.h"
#include "trainer/config/command_line.h"
#include "trainer/config/commands.h"
#include "trainer/files/checkpoint.h"
#include "trainer/train/optimizer.h"
#include "trainer/train/run_loop.h"
#include "trainer/train/step_plan.h"
#include "trainer/train/trainer.h"
#include "trainer/train/update.h"
#include "trainer/train/out_of_memory.h"

namespace tal {
namespace {

std::vector<UnitCost> costs_of(const std::vector<double>& per_image) {
  std::vector<UnitCost> out;
  for (double c : per_image) out.push_back({c, c * 4, c * 8, 0});  // predict ~ 1/16 of 64 images' target work
  return out;
}

// Every image of every unit is assigned exactly once, in whole chunks, each unit owned by one of the ranks that
// touch it; with units enough, no rank idles.
void expect_covered_once(const WorkPlan& plan, int64_t units, int64_t images, int64_t chunk, int64_t world) {
  ASSERT_EQ(static_cast<int64_t>(plan.ranks.size()), world);
  std::vector<std::vector<int>> seen(static_cast<size_t>(units), std::vector<int>(static_cast<size_t>(images), 0));
  std::vector<std::set<int64_t>> touching(static_cast<size_t>(units));
  for (int64_t r = 0; r < world; ++r)
    for (const auto& w : plan.ranks[static_cast<size_t>(r)]) {
      ASSERT_GE(w.count, 1);
      if (chunk > 0 && chunk < images) {
        EXPECT_EQ(w.first % chunk, 0) << "a piece starts inside a chunk";
        EXPECT_TRUE(w.count % chunk == 0 || w.first + w.count == images) << "a piece ends inside a chunk";
      }
      for (int64_t i = w.first; i < w.first + w.count; ++i) seen[static_cast<size_t>(w.unit)][static_cast<size_t>(i)]++;
      touching[static_cast<size_t>(w.unit)].insert(r);
    }
  for (int64_t u = 0; u < units; ++u) {
    for (int c : seen[static_cast<size_t>(u)]) ASSERT_EQ(c, 1) << "unit " << u << " world " << world;
    EXPECT_EQ(plan.touching[static_cast<size_t>(u)], static_cast<int64_t>(touching[static_cast<size_t>(u)].size()));
    EXPECT_TRUE(touching[static_cast<size_t>(u)].count(plan.owner[static_cast<size_t>(u)])) << "owner outside";
  }
}

// No rank's modelled load exceeds the mean (5% slack) by more than the largest single item: one chunk with its
// unit's prediction and backward.
void expect_makespan_bound(const WorkPlan& plan, const std::vector<UnitCost>& costs, int64_t images, int64_t chunk) {
  double mean = 0, largest = 0;
  for (double l : plan.load) mean += l / static_cast<double>(plan.load.size());
  for (const auto& c : costs)
    largest = std::max(largest, c.per_image * static_cast<double>(chunk_size(0, images, chunk)) + c.predict +
                                    c.backward + c.exchange);
  for (double l : plan.load) EXPECT_LE(l, 1.05 * mean + largest);
}

TEST(WorkPlan, EveryImageOnceInWholeChunksForOneToSixtyFourRanks) {
  SplitMix rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    const int64_t units = rng.uniform(1, 12), images = rng.uniform(1, 80), chunk = rng.pick(std::vector<int64_t>{0, 1, 8, 16, 100});
    std::vector<double> per_image;
    for (int64_t u = 0; u < units; ++u) per_image.push_back(static_cast<double>(rng.uniform(1, 9)));
    for (int64_t world = 1; world <= 64; world = world < 8 ? world + 1 : world * 2) {
      SCOPED_TRACE(testing::Message() << units << " units x " << images << " images, chunks of " << chunk << ", "
                                      << world << " ranks");
      const auto plan = plan_work(costs_of(per_image), images, chunk, world);
      expect_covered_once(plan, units, images, chunk, world);
      expect_makespan_bound(plan, costs_of(per_image), images, chunk);
    }
  }
}

// With enough chunks per rank, every rank's modelled load is within 5% of the mean, on random zoos whose units
// differ ninefold in cost; the plan is a pure function of its inputs.
TEST(WorkPlan, BalancedWithinFivePercentWhenChunksAllow) {
  SplitMix rng(11);
  for (int trial = 0; trial < 30; ++trial) {
    const int64_t world = rng.pick(std::vector<int64_t>{2, 3, 4, 8, 16, 64});
    std::vector<double> per_image;
    for (int64_t u = 0; u < world; ++u) per_image.push_back(static_cast<double>(rng.uniform(10, 90)));
    const auto plan = plan_work(costs_of(per_image), 64, 4, world);  // 16 chunks per unit
    SCOPED_TRACE(testing::Message() << world << " ranks");
    double mean = 0;
    for (double l : plan.load) mean += l / static_cast<double>(world);
    for (double l : plan.load) EXPECT_LE(l, 1.05 * mean);
    EXPECT_GE(plan.balance(), 0.95);
    const auto again = plan_work(costs_of(per_image), 64, 4, world);
    EXPECT_EQ(again.owner, plan.owner);
    EXPECT_EQ(again.load, plan.load);
  }
  // Whole units and more units than ranks: largest first onto the least loaded (70+30+20 vs 60+40+10).
  const auto two = plan_work(costs_of({10, 70, 30, 40, 20, 60}), 64, 0, 2);
  for (int64_t u = 0; u < 6; ++u) EXPECT_FALSE(two.split(u));
  EXPECT_NEAR(two.load[0] / two.load[1], 120.0 / 110.0, 1e-9);
  // Fewer units than ranks: units are shared, and each rank predicts what it touches.
  const auto wide = plan_work(costs_of({5, 9}), 64, 8, 8);
  expect_covered_once(wide, 2, 64, 8, 8);
  EXPECT_TRUE(wide.split(0) && wide.split(1));
  EXPECT_GT(wide.duplicated_predict(costs_of({5, 9})), 0.0);
}

PlannerConfig two_stage_planner() {
  PlannerConfig c;
  c.seed = 5;
  c.meta_batch = 3;
  c.batch = 8;
  c.pretrain_steps = 4;
  ZooRules small;
  small.rules = "vits+-1k";
  small.profile = "cpu-small";
  small.data.height = small.data.width = 8;
  small.data.channels = 1;
  for (int64_t n : {100, 30, 50}) {
    small.data.classes = n / 10;
    c.tasks.push_back({n, small});
  }
  c.pretrain_tasks = {0};
  c.multitask_tasks = {1, 2};
  c.chunk_images = 2;
  c.hypernet.hidden = 16;
  c.hypernet.heads = 2;
  return c;
}

// The plan is a pure function of (seed, step, cursors): the same inputs give the same meta-batch, and every rank
// layout covers every image of every unit exactly once.
TEST(StepPlanner, PureFunctionOfSeedStepAndCursorsCoveredOnceOverRanks) {
  const StepPlanner planner(two_stage_planner());
  auto cursors = planner.initial_cursors();
  ASSERT_EQ(cursors.size(), 3u);
  std::vector<std::vector<int64_t>> before;
  std::vector<StepPlan> plans;
  for (int64_t step = 0; step < 10; ++step) {
    before.push_back(cursors);
    const auto claimed = std::accumulate(cursors.begin(), cursors.end(), int64_t{0});
    plans.push_back(planner.plan(step, cursors));
    EXPECT_EQ(std::accumulate(cursors.begin(), cursors.end(), int64_t{0}) - claimed, 3 * 8);  // m x b images claimed
    EXPECT_EQ(plans.back().pretrain, step < 4);
    EXPECT_EQ(plans.back().task, planner.task_of(step));
    if (step >= 4) {
      EXPECT_TRUE(plans.back().task == 1 || plans.back().task == 2);
    }
  }
  // Replanning from the saved cursors (as a resumed run does) gives the identical plan.
  for (int64_t step = 0; step < 10; ++step) {
    auto c = before[static_cast<size_t>(step)];
    const auto again = planner.plan(step, c);
    ASSERT_EQ(again.units.size(), 3u);
    for (size_t u = 0; u < 3; ++u) {
      EXPECT_EQ(again.units[u].spec, plans[static_cast<size_t>(step)].units[u].spec);
      EXPECT_EQ(again.units[u].positions, plans[static_cast<size_t>(step)].units[u].positions);
      EXPECT_EQ(again.units[u].augment, plans[static_cast<size_t>(step)].units[u].augment);
      EXPECT_EQ(again.units[u].class_row_seed, plans[static_cast<size_t>(step)].units[u].class_row_seed);
    }
  }
  // Another seed draws other architectures.
  auto other_config = two_stage_planner();
  other_config.seed = 6;
  const StepPlanner other(other_config);
  auto c0 = other.initial_cursors();
  int same = 0;
  const auto p0 = other.plan(0, c0);
  for (size_t u = 0; u < 3; ++u) same += p0.units[u].spec == plans[0].units[u].spec;
  EXPECT_LT(same, 3);
  for (const auto& plan : plans)
    for (int64_t world = 1; world <= 8; ++world) {
      SCOPED_TRACE(testing::Message() << "step " << plan.step << ", world " << world);
      expect_covered_once(plan.work(world), 3, 8, plan.chunk_images, world);
    }
}

// An epoch of a task's stream visits every image once before any repeats.
TEST(StepPlanner, StreamsVisitEveryImageOncePerEpoch) {
  auto config = two_stage_planner();
  config.pretrain_steps = 0;
  config.multitask_tasks = {1};  // 30 images, 24 per step
  const StepPlanner planner(config);
  auto cursors = planner.initial_cursors();
  std::vector<int64_t> positions;
  for (int64_t step = 0; step < 5; ++step)
    for (const auto& u : planner.plan(step, cursors).units) positions.insert(positions.end(), u.positions.begin(), u.positions.end());
  for (int epoch = 0; epoch < 4; ++epoch) {
    std::set<int64_t> once(positions.begin() + epoch * 30, positions.begin() + (epoch + 1) * 30);
    EXPECT_EQ(once.size(), 30u) << "epoch " << epoch;
  }
}

TEST(Losses, FamilyLossesArePerExampleForms) {
  const Family& vit = find_family("vit");
  const auto logits = at::randn({6, 4}), teacher = at::randn({6, 4});
  const auto labels = at::tensor({0, 1, 2, 3, 0, 1}, at::kLong);
  EXPECT_TRUE(at::allclose(vit.loss(logits, labels, 0.1).mean(),
                           at::cross_entropy_loss(logits, labels, {}, at::Reduction::Mean, -100, 0.1)));
  const auto kd = vit.distillation(logits, teacher, 3.0);
  EXPECT_TRUE(at::allclose(kd.mean(), at::kl_div(at::log_softmax(logits / 3, -1), at::log_softmax(teacher / 3, -1),
                                                 at::Reduction::None, /*log_target=*/true)
                                              .sum(-1)
                                              .mean() *
                                          9));
  EXPECT_NEAR(vit.distillation(logits, logits, 2.0).abs().max().item<float>(), 0.f, 1e-6);
  EXPECT_EQ(vit.correct(logits, logits.argmax(1)).sum().item<int64_t>(), 6);
  // GPT-2: position t predicts token t + 1; one value per sequence.
  const Family& gpt2 = find_family("gpt2");
  const auto lm = at::randn({2, 5, 7});
  const auto tokens = at::randint(0, 7, {2, 5}, at::kLong);
  const auto per_seq = gpt2.loss(lm, tokens, 0.0);
  ASSERT_EQ(per_seq.sizes(), (std::vector<int64_t>{2}));
  const auto manual = at::cross_entropy_loss(lm[1].narrow(0, 0, 4), tokens[1].narrow(0, 1, 4));
  EXPECT_NEAR(per_seq[1].item<float>(), manual.item<float>(), 1e-6);
  EXPECT_EQ(gpt2.correct(lm, tokens).sizes(), (std::vector<int64_t>{2, 4}));
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

TEST(Update, BufferTotalsAndTheSkipRule) {
  GradientBuffer buffer(3);
  buffer.grads().copy_(at::tensor({1.0, 2.0, 3.0}, at::kDouble));
  buffer.set_totals(0.5, 12, 2);
  EXPECT_EQ(buffer.bad_ranks(), 0);
  EXPECT_EQ(buffer.out_of_memory_ranks(), 0);
  EXPECT_DOUBLE_EQ(buffer.loss(), 0.5);
  EXPECT_EQ(buffer.images(), 12);
  buffer.set_totals(0.5, 12, 2, true);  // out of memory: flagged apart from non-finite, its loss not counted
  EXPECT_EQ(buffer.bad_ranks(), 0);
  EXPECT_EQ(buffer.out_of_memory_ranks(), 1);
  EXPECT_DOUBLE_EQ(buffer.loss(), 0.0);
  buffer.grads()[1] = std::nan("");
  buffer.set_totals(0.5, 12, 2);
  EXPECT_EQ(buffer.bad_ranks(), 1);  // a non-finite gradient flags the rank even with a finite loss
  EXPECT_DOUBLE_EQ(buffer.loss(), 0.0);
  buffer.zero();
  EXPECT_EQ(buffer.flat.abs().sum().item<double>(), 0.0);
  TrainState state;
  skip_step(state, 0, {1, 0, ""}, 3, false);
  skip_step(state, 1, {1, 0, ""}, 3, false);
  EXPECT_EQ(state.skipped_steps, 2);
  EXPECT_THROW(skip_step(state, 2, {1, 0, ""}, 3, false), Error);  // the third in a row aborts
  // K skips for out of memory: one line naming the rank, the step and the memory it had.
  TrainState oom;
  skip_step(oom, 4, {0, 1, "rank 1 (612.0 MiB resident: std::bad_alloc)"}, 2, false);
  try {
    skip_step(oom, 5, {0, 1, "rank 1 (613.0 MiB resident: std::bad_alloc)"}, 2, false);
    ADD_FAILURE() << "no abort";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("step 6, for out of memory on rank 1 (613.0 MiB resident"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos);
  }
}

// Allocation failures are told apart from other errors: the host's (std::bad_alloc, LibTorch's CPU allocator, here
// asked for a petabyte) and a GPU's message; anything else is rethrown.
TEST(Update, OutOfMemoryIsToldApart) {
  EXPECT_NE(run_unless_out_of_memory([] { throw std::bad_alloc(); }).find("bad_alloc"), std::string::npos);
  const std::string cpu = run_unless_out_of_memory([] { at::empty({int64_t{1} << 50}, at::kByte).fill_(1); });
  EXPECT_FALSE(cpu.empty());
  EXPECT_EQ(cpu.find('\n'), std::string::npos);
  const c10::Error cuda({"f", "file.cpp", 1}, "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.1 GiB total)\nmore");
  EXPECT_EQ(out_of_memory_text(cuda), "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.1 GiB total)");
  EXPECT_EQ(run_unless_out_of_memory([] {}), "");
  EXPECT_THROW(run_unless_out_of_memory([] { throw Error("a shape mismatch"); }), Error);
  EXPECT_THROW(run_unless_out_of_memory([] { at::ones({2}).view({3}); }), std::exception);  // a shape error
}

// The schedule's decisions, with the consensus hook standing in for a preemption signal.
TEST(RunLoop, LogsEvaluatesSavesAndStopsWhenTold) {
  struct Record {
    std::vector<int64_t> steps, logs, evals, saves;
    std::vector<std::string> said;
  } rec;
  int64_t stop_after = -1;
  LoopHooks hooks;
  hooks.step = [&](int64_t s) { rec.steps.push_back(s); };
  hooks.log = [&](int64_t done, double, double, int64_t) { rec.logs.push_back(done); };
  hooks.evaluate = [&](int64_t done) { rec.evals.push_back(done); };
  hooks.save = [&] { rec.saves.push_back(rec.steps.back() + 1); };
  hooks.any_rank = [&](bool) { return rec.steps.back() + 1 == stop_after; };
  hooks.say = [&](const std::string& line) { rec.said.push_back(line); };
  LoopSchedule sc;
  sc.total_steps = 10;
  sc.log_every = 4;
  sc.eval_every = 5;
  sc.eval_at = {3, 10};
  sc.checkpoint_every = 6;
  EXPECT_EQ(run_loop(0, sc, hooks), 0);
  EXPECT_EQ(rec.logs, (std::vector<int64_t>{4, 8, 10}));
  EXPECT_EQ(rec.evals, (std::vector<int64_t>{3, 5, 10}));
  EXPECT_EQ(rec.saves, (std::vector<int64_t>{6, 10}));
  rec = {};
  sc.until_step = 7;
  EXPECT_EQ(run_loop(2, sc, hooks), 0);
  EXPECT_EQ(rec.steps.front(), 2);
  EXPECT_EQ(rec.steps.back(), 6);
  EXPECT_EQ(rec.saves, (std::vector<int64_t>{6, 7}));
  EXPECT_NE(rec.said.back().find("stopped  after step 7"), std::string::npos);
  rec = {};
  sc.until_step = 0;
  stop_after = 2;
  EXPECT_EQ(run_loop(0, sc, hooks), 75);
  EXPECT_EQ(rec.saves, (std::vector<int64_t>{2}));
  EXPECT_NE(rec.said.back().find("preempted  at step 2"), std::string::npos);
}

// Every command's option table: no key or flag twice, and the flags mean what the command says.
TEST(CommandTables, NoDuplicateKeyOrFlagAndStepsMeansTheCommandsSteps) {
  for (const auto& name : command_names()) {
    SCOPED_TRACE(name);
    const auto t = command_table(name);  // add() and alias() refuse duplicates as they build
    std::set<std::string> keys, flags;
    for (const auto& o : t.options()) {
      EXPECT_TRUE(keys.insert(o.key).second) << "key " << o.key << " twice";
      if (!o.flag.empty()) {
        EXPECT_TRUE(flags.insert(o.flag).second) << "flag " << o.flag << " twice";
      }
      const auto dot = o.key.find('.');
      if (dot != std::string::npos) {
        EXPECT_NE(o.key.substr(0, dot), "") << o.key;
      }
    }
  }
  auto resolve = [](const std::string& command, const std::vector<std::string>& args) {
    const auto t = command_table(command);
    CommandOptions o = t.defaults();
    t.apply(o, parse_command_line(t, args).overrides);
    return o;
  };
  const auto bench = resolve("bench step", {"--steps", "30"});
  EXPECT_EQ(bench.bench.steps, 30);
  EXPECT_EQ(bench.train.steps, TrainOptions{}.steps);
  EXPECT_EQ(resolve("train", {"--steps", "30"}).train.steps, 30);
  EXPECT_THROW(command_table("no such command"), Error);
  EXPECT_THROW(command_table("bench step").alias("bench.steps", "--steps2").alias("bench.warmup", "--steps2"), Error);
}

TEST(CommandTables, ChoicesComeFromTheirOwners) {
  const auto t = command_table("train");
  EXPECT_EQ(t.find("train.transform")->check.choices, task_transform_names());
  EXPECT_EQ(t.find("dist.backend")->check.choices, dist_backend_names());
  EXPECT_EQ(t.find("zoo.family")->check.choices, family_names());
  EXPECT_EQ(t.find("zoo.rules")->check.choices, all_zoo_rules());
  EXPECT_EQ(t.find("hypernet.variant")->check.choices, hypernet_variant_names());
}

// ---- a whole Trainer in this process, on a synthetic task store -------------------------------------------

std::string synthetic_store(const test::TempDir& dir) {
  const auto path = dir.file("synthetic.h5");
  StoreMeta meta{"synthetic", "test", {"a", "b", "c", "d"}, {0.5}, {0.25}};
  at::manual_seed(0);
  auto make = [](int n) {
    return SplitData{at::randint(0, 256, {n, 1, 8, 8}, at::kLong).to(at::kByte), at::arange(n, at::kLong) % 4};
  };
  write_task_store(path, meta, make(64), make(16));
  return path;
}

TalOptions tiny_run(const test::TempDir& dir, const std::string& run) {
  TalOptions o;
  o.run.dir = dir.file(run);
  o.run.seed = 3;
  o.data.root = dir.path().string();
  o.zoo.rules = "vits+-1k";
  o.zoo.profile = "cpu-small";
  o.zoo.image = 8;
  o.zoo.channels = 1;
  o.hypernet.hidden = 16;
  o.hypernet.layers = 1;
  o.hypernet.heads = 2;
  o.hypernet.rank = 4;
  o.hypernet.max_ck = 4096;
  o.hypernet.num_classes = 4;
  o.train.stage = "pretrain";
  o.train.dataset = "synthetic.h5";
  o.train.steps = 4;
  o.train.meta_batch = 2;
  o.train.batch = 4;
  o.train.kd_weight = 0;
  o.train.eval_archs = 0;
  o.train.lr = 1e-3;
  return o;
}

NamedTensors values(const Trainer& t) {
  NamedTensors out;
  for (const auto& [n, p] : t.hypernet_parameters()) out.emplace_back(n, p.clone());
  return out;
}

void expect_same_bytes(const NamedTensors& a, const NamedTensors& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(at::equal(a[i].second, b[i].second)) << a[i].first;
  }
}

TEST(Trainer, RepeatableResumableAndItsFaultSeamSkipsTheStep) {
  const test::TempDir dir;
  synthetic_store(dir);
  LocalCommunicator comm;
  const std::string yaml = run_config_table().dump(tiny_run(dir, "x"));
  Trainer straight(tiny_run(dir, "straight"), yaml, comm, {});
  const auto initial = values(straight);
  straight.run_steps(4);
  ASSERT_EQ(straight.step(), 4);
  const auto after4 = values(straight);
  EXPECT_FALSE(at::equal(initial[0].second, after4[0].second));  // it trained

  Trainer again(tiny_run(dir, "again"), yaml, comm, {});
  again.run_steps(4);
  expect_same_bytes(after4, values(again));

  // 2 steps, a checkpoint (through the run schedule's until_step), a new Trainer resuming, 2 more.
  auto first_half = tiny_run(dir, "resumed");
  first_half.train.until_step = 2;
  EXPECT_EQ(Trainer(first_half, yaml, comm, {}).run(), 0);
  ASSERT_FALSE(latest_checkpoint(first_half.run.dir).empty());
  Trainer resumed(tiny_run(dir, "resumed"), yaml, comm, {});
  EXPECT_EQ(resumed.step(), 2);
  resumed.run_steps(2);
  expect_same_bytes(after4, values(resumed));

  // The fault seam: rank 0's loss is non-finite at step 1, so that step's update is skipped.
  auto faulty = tiny_run(dir, "faulty");
  faulty.debug.nan_steps = "0:1";
  Trainer skipped(faulty, yaml, comm, {});
  skipped.run_steps(1);
  expect_same_bytes(initial, values(skipped));
  auto bad = tiny_run(dir, "bad");
  bad.debug.nan_steps = "step one";
  EXPECT_THROW(Trainer(bad, yaml, comm, {}), Error);
}

}  // namespace
}  // namespace tal
