// tal bench step: a training step split into its parts, how busy and how idle each rank was, the plan's modelled
// balance and the cost model next to the measured times. tal bench plan: the work planner alone, for N ranks.
#include <ATen/Parallel.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "base/error.h"
#include "hypernet/family.h"
#include "trainer/cli/bench.h"
#include "trainer/cli/runtime.h"
#include "trainer/config/command_line.h"
#include "trainer/config/commands.h"
#include "trainer/train/format.h"
#include "trainer/train/progress.h"
#include "trainer/train/resources.h"
#include "trainer/train/step_plan.h"
#include "trainer/train/synthetic_data.h"
#include "trainer/train/trainer.h"

namespace tal {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Pearson correlation from running sums (n, Σx, Σy, Σxx, Σyy, Σxy).
double correlation(const double* s) {
  const double n = s[0], sx = s[1], sy = s[2], sxx = s[3], syy = s[4], sxy = s[5];
  const double vx = n * sxx - sx * sx, vy = n * syy - sy * sy;
  return vx > 0 && vy > 0 ? (n * sxy - sx * sy) / std::sqrt(vx * vy) : 0.0;
}

void add_sample(double* s, double x, double y) {
  s[0] += 1;
  s[1] += x;
  s[2] += y;
  s[3] += x * x;
  s[4] += y * y;
  s[5] += x * y;
}

}  // namespace

int bench_step(const Args& args, Runtime& runtime) {
  const auto start = Clock::now();
  const auto parsed = command_options(command_table("bench step"), args,
                                      "[mpirun -np N] tal bench step --config FILE [--steps S] [--warmup W]");
  if (!parsed) return 0;
  auto o = *parsed;
  const int64_t steps = o.bench.steps, warmup = o.bench.warmup;
  if (o.threads > 0) at::set_num_threads(static_cast<int>(o.threads));
  auto& comm = runtime.dist(o.dist).comm();
  o.run.dir = (std::filesystem::temp_directory_path() / ("tal-bench-" + std::to_string(::getpid()))).string();
  // Each rank's directory (its own process id): rank 0's run files, and each rank's synthetic data; removed
  // however the benchmark ends.
  struct RemoveOnExit {
    std::string dir;
    ~RemoveOnExit() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{o.run.dir};
  std::string synthetic;
  if (o.bench.synthetic) synthetic = use_synthetic_data(o, (std::filesystem::path(o.run.dir) / "data").string());
  o.train.steps = std::max(o.train.steps, steps + warmup + 1);
  o.train.eval_archs = 0;
  Trainer trainer(o, run_config_table().dump(o), comm, ResumeRequest{false, ""});
  const double setup = seconds_since(start);
  trainer.run_steps(1);
  const double first_step = seconds_since(start);
  trainer.run_steps(std::max<int64_t>(0, warmup - 1));
  trainer.reset_timings();
  reset_peak_rss();
  trainer.run_steps(steps);
  const auto& t = trainer.timings();
  const double per = 1000.0 / static_cast<double>(t.steps);

  // Per rank: busy and waiting seconds, peak memory, predictions; and the cost model's sums for each kind of work.
  const double busy = t.total - t.waiting();
  auto mine = at::tensor({busy, t.waiting(), static_cast<double>(peak_rss_bytes()), static_cast<double>(t.predictions)},
                         at::kDouble);
  const auto all = comm.allgather(mine, "bench rank figures");
  auto sums = at::zeros({3, 6}, at::kDouble);
  auto* s = sums.data_ptr<double>();
  for (const auto& u : t.samples) {
    add_sample(s, u.target_model, u.target_seconds);
    add_sample(s + 6, u.predict_model, u.predict_seconds);
    if (u.backward_model > 0) add_sample(s + 12, u.backward_model, u.backward_seconds);
  }
  comm.allreduce_sum(sums, "bench cost model");
  if (comm.rank() == 0) {
    std::printf("bench step  %s, %lld units x %lld images in chunks of %lld, %d rank(s) x %d thread(s), %lld steps "
                "after %lld warm-up\n",
                o.hypernet.describe().c_str(), static_cast<long long>(o.train.meta_batch),
                static_cast<long long>(o.train.batch), static_cast<long long>(o.train.chunk_images), comm.world(),
                at::get_num_threads(), static_cast<long long>(t.steps), static_cast<long long>(warmup));
    std::printf("  %-24s %s, on %s, target models in %s\n", "inputs",
                o.bench.synthetic ? synthetic.substr(synthetic.find("  ") + 2).c_str()
                                  : ("stage " + o.train.stage + " of the configured data").c_str(),
                trainer.device().c_str(), trainer.autocast_bf16() ? "bf16 autocast" : "float32");
    auto row = [&](const char* name, double sec) { std::printf("  %-24s %8.1f ms\n", name, sec * per); };
    row("planning + data wait", t.plan);
    row("graph building", t.graphs);
    row("hypernet forward", t.hypernet_forward);
    row("target forward", t.target_forward);
    row("target backward", t.target_backward);
    row("hypernet backward", t.hypernet_backward);
    row("exchange (shared units)", t.exchange);
    row("all-reduce", t.allreduce);
    row("optimizer", t.optimizer);
    row("step (total)", t.total);
    std::printf("  %-24s %8.0f images/s, %.2f architectures/s (whole job)\n", "throughput",
                static_cast<double>(t.images) / t.total, static_cast<double>(t.archs) / t.total);
    double bmax = 0, bmin = 1e300, bsum = 0, wmax = 0, wmin = 1e300, wsum = 0, rss = 0, predictions = 0;
    for (int r = 0; r < comm.world(); ++r) {
      const double b = all[r][0].item<double>(), w = all[r][1].item<double>();
      bmax = std::max(bmax, b), bmin = std::min(bmin, b), bsum += b;
      wmax = std::max(wmax, w), wmin = std::min(wmin, w), wsum += w;
      rss += all[r][2].item<double>();
      predictions += all[r][3].item<double>();
    }
    const double n = comm.world();
    std::printf("  %-24s busy max %.1f / min %.1f / mean %.1f ms; waiting in collectives max %.1f / min %.1f / mean "
                "%.1f ms (%.1f%% of the step, mean)\n",
                "per rank and step", bmax * per, bmin * per, bsum / n * per, wmax * per, wmin * per, wsum / n * per,
                100 * wsum / n / t.total);
    if (comm.world() <= 16) {
      std::printf("  %-24s", "busy by rank (ms)");
      for (int r = 0; r < comm.world(); ++r) std::printf(" %d: %.1f", r, all[r][0].item<double>() * per);
      std::printf("\n");
    }
    std::printf("  %-24s modelled balance %.3f (mean / max rank load); %.2f shared units per step; %.1f%% of the "
                "prediction work done twice (%.0f predictions for %lld units)\n",
                "plan", t.balance / static_cast<double>(t.steps), static_cast<double>(t.shared_units) / t.steps,
                100 * t.duplicated / static_cast<double>(t.steps), predictions, static_cast<long long>(t.archs));
    const char* kinds[] = {"target fwd+bwd", "hypernet forward", "hypernet backward"};
    for (int k = 0; k < 3; ++k) {
      const double* q = s + 6 * k;
      std::printf("  %-24s %-18s correlation %.3f over %.0f units; measured %.2f x modelled\n",
                  k ? "" : "cost model", kinds[k], correlation(q), q[0], q[1] > 0 ? q[2] / q[1] : 0.0);
    }
    std::printf("  %-24s %s per rank\n", "peak resident memory", mib(static_cast<int64_t>(rss / n)).c_str());
    std::printf("  %-24s %8.2f s to the start of step 1, %.2f s to its end (after LibTorch's own load)\n",
                "time to first step", setup, first_step);
  }
  comm.barrier("bench done");
  return 0;
}

int bench_plan(const Args& args) {
  const auto parsed = command_options(command_table("bench plan"), args,
                                      "tal bench plan --ranks N[,N...] --config FILE [--steps S]");
  if (!parsed) return 0;
  const auto& o = *parsed;
  std::vector<int64_t> worlds;
  for (const auto& text : o.bench.ranks) {
    char* end = nullptr;
    const long long n = std::strtoll(text.c_str(), &end, 10);
    TAL_REQUIRE(!text.empty() && *end == '\0' && n >= 1 && n <= 65536, "command line: key 'bench.ranks': '", text,
                "' is not a rank count in 1..65536");
    worlds.push_back(n);
  }
  TAL_REQUIRE(!worlds.empty(), "command line: --ranks N[,N...] is required");
  // One synthetic task with the zoo's data shape: the plan does not depend on which images are drawn.
  PlannerConfig pc;
  pc.seed = static_cast<uint64_t>(o.run.seed);
  pc.meta_batch = o.train.meta_batch;
  pc.batch = o.train.batch;
  pc.chunk_images = o.train.chunk_images;
  pc.hypernet = o.hypernet;
  pc.pretrain_steps = o.bench.steps;
  pc.tasks = {{1 << 20, o.zoo.rules_for(o.zoo.data())}};
  pc.pretrain_tasks = {0};
  const StepPlanner planner(pc);
  auto cursors = planner.initial_cursors();
  std::vector<StepPlan> plans;
  for (int64_t step = 0; step < o.bench.steps; ++step) plans.push_back(planner.plan(step, cursors));
  const int64_t chunks = chunk_count(o.train.batch, o.train.chunk_images) * o.train.meta_batch;
  std::printf("bench plan  zoo %s/%s (%lldx%lldx%lld images, %lld classes), meta-batch %lld x %lld images in chunks "
              "of %lld (%lld work items), %s, %lld steps planned\n",
              o.zoo.rules.c_str(), o.zoo.profile.c_str(), static_cast<long long>(o.zoo.channels),
              static_cast<long long>(o.zoo.image), static_cast<long long>(o.zoo.image),
              static_cast<long long>(o.zoo.data().classes), static_cast<long long>(o.train.meta_batch),
              static_cast<long long>(o.train.batch), static_cast<long long>(o.train.chunk_images),
              static_cast<long long>(chunks), o.hypernet.describe().c_str(), static_cast<long long>(o.bench.steps));
  std::printf("  %7s  %14s  %14s  %13s  %21s\n", "ranks", "balance (mean", "worst step", "shared units", "prediction work done");
  std::printf("  %7s  %14s  %14s  %13s  %21s\n", "", "over steps)", "", "per step", "more than once");
  for (auto n : worlds) {
    double balance = 0, worst = 1, shared = 0, duplicated = 0;
    for (const auto& p : plans) {
      std::vector<UnitCost> costs;
      for (const auto& u : p.units) costs.push_back(u.cost);
      const WorkPlan w = p.work(n);
      balance += w.balance();
      worst = std::min(worst, w.balance());
      for (size_t u = 0; u < p.units.size(); ++u) shared += w.split(static_cast<int64_t>(u));
      duplicated += w.duplicated_predict(costs);
    }
    const double k = static_cast<double>(plans.size());
    std::printf("  %7lld  %14.3f  %14.3f  %13.2f  %20.1f%%%s\n", static_cast<long long>(n), balance / k, worst,
                shared / k, 100 * duplicated / k,
                chunks < n ? strf("   (only %lld work items: %lld ranks idle; lower train.chunk_images or raise "
                                       "train.meta_batch)",
                                       static_cast<long long>(chunks), static_cast<long long>(n - chunks))
                                 .c_str()
                           : "");
  }
  return 0;
}

}  // namespace tal
