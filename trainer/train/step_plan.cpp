#include "trainer/train/step_plan.h"

#include <algorithm>
#include <numeric>

#include "base/error.h"
#include "base/rng.h"
#include "hypernet/family.h"
#include "hypernet/graph.h"
#include "hypernet/hypernet.h"

namespace tal {
namespace {

// Streams of the counter-based generator; each names one kind of draw.
constexpr uint64_t kArchStream = 11, kClassRowStream = 13, kAugmentStream = 14, kTaskStream = 15;

}  // namespace

// Seconds per unit of each kind of work, fitted to `tal bench step` on configs/bench_logah_step.yaml (1 thread per
// rank, 2-core machine; 224 units of widths 64-192, depths 3-6): the target's forward and backward take 10.4 ps per
// product FLOP plus 1.78 ns per element-wise element (mean error 3.5% per unit, against 17% for FLOPs alone); the
// hypernetwork's forward 46.7 ps and its backward 78.6 ps per modelled FLOP; the exchange 3.7 ns per byte. Only the
// ratios matter to the plan; `tal bench step` prints measured against modelled.
constexpr double kTargetSecondsPerFlop = 10.4e-12, kTargetSecondsPerElement = 1.78e-9,
                 kPredictSecondsPerFlop = 46.7e-12, kBackwardSecondsPerFlop = 78.6e-12,
                 kExchangeSecondsPerByte = 3.7e-9;

UnitCost unit_cost(const HypernetConfig& hypernet, const ArchSpec& spec) {
  UnitCost c;
  const double predict = predict_flops(hypernet, build_graph(spec));
  const auto fwd = spec.family().forward_cost(spec);
  c.per_image = 3 * fwd.flops * kTargetSecondsPerFlop + fwd.elements * kTargetSecondsPerElement;
  c.predict = predict * kPredictSecondsPerFlop;
  c.backward = 2 * predict * kBackwardSecondsPerFlop;
  c.exchange = 8.0 * static_cast<double>(count_params(spec, true)) * kExchangeSecondsPerByte;
  return c;
}

int64_t chunk_count(int64_t images, int64_t chunk_images) {
  if (chunk_images <= 0 || chunk_images >= images) return 1;
  return (images + chunk_images - 1) / chunk_images;
}

int64_t chunk_first(int64_t chunk, int64_t chunk_images) { return chunk_images <= 0 ? 0 : chunk * chunk_images; }

int64_t chunk_size(int64_t chunk, int64_t images, int64_t chunk_images) {
  if (chunk_count(images, chunk_images) == 1) return images;
  return std::min(chunk_images, images - chunk * chunk_images);
}

double WorkPlan::balance() const {
  double total = 0, most = 0;
  for (double l : load) {
    total += l;
    most = std::max(most, l);
  }
  return most > 0 ? total / static_cast<double>(load.size()) / most : 1.0;
}

double WorkPlan::duplicated_predict(const std::vector<UnitCost>& costs) const {
  double all = 0, twice = 0;
  for (size_t u = 0; u < costs.size(); ++u) {
    all += costs[u].predict;
    twice += static_cast<double>(std::max<int64_t>(0, touching[u] - 1)) * costs[u].predict;
  }
  return all > 0 ? twice / all : 0.0;
}

namespace {

WorkPlan greedy_plan(const std::vector<UnitCost>& costs, int64_t b, int64_t chunk_images, int64_t world,
                     bool allow_splits) {
  const auto m = static_cast<int64_t>(costs.size());
  const int64_t k = chunk_count(b, chunk_images);
  WorkPlan plan;
  plan.ranks.assign(static_cast<size_t>(world), {});
  plan.owner.assign(static_cast<size_t>(m), -1);
  plan.touching.assign(static_cast<size_t>(m), 0);
  plan.load.assign(static_cast<size_t>(world), 0.0);
  auto whole = [&](int64_t u) {
    const auto& c = costs[static_cast<size_t>(u)];
    return c.per_image * static_cast<double>(b) + c.predict + c.backward;
  };
  double total = 0;
  for (int64_t u = 0; u < m; ++u) total += whole(u);
  const double mean = total / static_cast<double>(world);
  std::vector<int64_t> order(static_cast<size_t>(m));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t c) { return whole(a) > whole(c); });
  auto least_loaded = [&] {
    return static_cast<int64_t>(std::min_element(plan.load.begin(), plan.load.end()) - plan.load.begin());
  };
  std::vector<std::vector<std::pair<int64_t, int64_t>>> runs(static_cast<size_t>(world));  // (first, count) per unit
  for (auto u : order) {
    const auto& c = costs[static_cast<size_t>(u)];
    int64_t next = 0;  // first chunk not yet placed
    std::vector<int64_t> touched;
    while (next < k) {
      const int64_t r = least_loaded();
      const bool fresh = std::find(touched.begin(), touched.end(), r) == touched.end();
      const double extra = (fresh ? c.predict : 0.0) + (touched.empty() ? c.backward : 0.0);
      double rest = 0;
      for (int64_t j = next; j < k; ++j) rest += c.per_image * static_cast<double>(chunk_size(j, b, chunk_images));
      int64_t take = k - next;
      // Split only where the rest would overshoot the mean by more than 2% and another rank has room.
      if (allow_splits && world > 1 && plan.load[static_cast<size_t>(r)] + extra + rest > 1.02 * mean) {
        take = 0;
        double room = mean - plan.load[static_cast<size_t>(r)] - extra;
        while (next + take < k - 1) {
          const double chunk = c.per_image * static_cast<double>(chunk_size(next + take, b, chunk_images));
          if (room < chunk / 2) break;  // the chunk fits at least half: place it here
          room -= chunk;
          ++take;
        }
        take = std::max<int64_t>(take, 1);
      }
      double placed = extra;
      for (int64_t j = next; j < next + take; ++j) placed += c.per_image * static_cast<double>(chunk_size(j, b, chunk_images));
      plan.load[static_cast<size_t>(r)] += placed;
      if (touched.empty()) plan.owner[static_cast<size_t>(u)] = r;
      if (fresh) touched.push_back(r);
      const int64_t first = chunk_first(next, chunk_images), count_images = [&] {
        int64_t n = 0;
        for (int64_t j = next; j < next + take; ++j) n += chunk_size(j, b, chunk_images);
        return n;
      }();
      plan.ranks[static_cast<size_t>(r)].push_back({u, first, count_images});
      next += take;
    }
    plan.touching[static_cast<size_t>(u)] = static_cast<int64_t>(touched.size());
    if (touched.size() > 1)
      for (auto r : touched) plan.load[static_cast<size_t>(r)] += c.exchange;
  }
  // Each rank's pieces in unit order, adjacent runs of one unit merged.
  for (auto& pieces : plan.ranks) {
    std::stable_sort(pieces.begin(), pieces.end(), [](const WorkPiece& a, const WorkPiece& c) {
      return a.unit != c.unit ? a.unit < c.unit : a.first < c.first;
    });
    std::vector<WorkPiece> merged;
    for (const auto& p : pieces) {
      if (!merged.empty() && merged.back().unit == p.unit && merged.back().first + merged.back().count == p.first)
        merged.back().count += p.count;
      else
        merged.push_back(p);
    }
    pieces = std::move(merged);
  }
  return plan;
}

}  // namespace

WorkPlan plan_work(const std::vector<UnitCost>& costs, int64_t b, int64_t chunk_images, int64_t world) {
  TAL_ASSERT(world >= 1 && b >= 1 && !costs.empty());
  WorkPlan split = greedy_plan(costs, b, chunk_images, world, true);
  if (static_cast<int64_t>(costs.size()) < world) return split;  // whole units would leave ranks idle
  WorkPlan whole = greedy_plan(costs, b, chunk_images, world, false);
  auto makespan = [](const WorkPlan& p) { return *std::max_element(p.load.begin(), p.load.end()); };
  return makespan(whole) <= makespan(split) ? whole : split;
}

WorkPlan StepPlan::work(int64_t world) const {
  std::vector<UnitCost> costs;
  for (const auto& u : units) costs.push_back(u.cost);
  const auto images = static_cast<int64_t>(units.front().positions.size());
  return plan_work(costs, images, chunk_images, world);
}

StepPlanner::StepPlanner(PlannerConfig config) : config_(std::move(config)) {
  auto sizes = [&](const std::vector<int64_t>& ids) {
    std::vector<int64_t> out;
    for (auto i : ids) out.push_back(config_.tasks.at(static_cast<size_t>(i)).train_images);
    return out;
  };
  if (!config_.pretrain_tasks.empty())
    pretrain_sampler_ = std::make_unique<TaskSampler>(sizes(config_.pretrain_tasks), 1.0, config_.seed);
  if (!config_.multitask_tasks.empty())
    multitask_sampler_ = std::make_unique<TaskSampler>(sizes(config_.multitask_tasks), config_.temperature, config_.seed + 1);
  for (size_t t = 0; t < config_.tasks.size(); ++t)
    streams_.emplace_back(config_.tasks[t].train_images, config_.seed, kTaskStream * 1000 + t);
}

std::vector<int64_t> StepPlanner::initial_cursors() const {
  return std::vector<int64_t>(config_.pretrain_tasks.size() + config_.multitask_tasks.size(), 0);
}

int64_t StepPlanner::task_of(int64_t step) const {
  const bool pre = step < config_.pretrain_steps;
  const auto& sampler = pre ? pretrain_sampler_ : multitask_sampler_;
  TAL_ASSERT(sampler, "no ", pre ? "stage-1" : "multi-task", " tasks to plan step ", step, " with");
  const auto& ids = pre ? config_.pretrain_tasks : config_.multitask_tasks;
  return ids[static_cast<size_t>(sampler->task_at(step))];
}

StepPlan StepPlanner::plan(int64_t step, std::vector<int64_t>& cursors) const {
  TAL_ASSERT(cursors.size() == config_.pretrain_tasks.size() + config_.multitask_tasks.size(), "cursors of ",
             cursors.size(), " streams for ", config_.pretrain_tasks.size() + config_.multitask_tasks.size(), " tasks");
  StepPlan p;
  p.step = step;
  p.pretrain = step < config_.pretrain_steps;
  const auto& sampler = p.pretrain ? *pretrain_sampler_ : *multitask_sampler_;
  const int64_t local = sampler.task_at(step);
  const size_t cursor = (p.pretrain ? 0 : config_.pretrain_tasks.size()) + static_cast<size_t>(local);
  p.task = (p.pretrain ? config_.pretrain_tasks : config_.multitask_tasks)[static_cast<size_t>(local)];
  p.chunk_images = config_.chunk_images;
  const int64_t m = config_.meta_batch, b = config_.batch;
  const int64_t first = cursors[cursor];
  cursors[cursor] += m * b;
  auto& stream = streams_[static_cast<size_t>(p.task)];
  const auto& rules = config_.tasks[static_cast<size_t>(p.task)].rules;
  const uint64_t seed = config_.seed;
  for (int64_t u = 0; u < m; ++u) {
    UnitPlan unit;
    const auto global_unit = static_cast<uint64_t>(step * m + u);
    unit.spec = sample_arch(rules, mix_seed(seed, kArchStream, 0), global_unit);
    unit.class_row_seed = mix_seed(seed, kClassRowStream, global_unit);
    unit.cost = unit_cost(config_.hypernet, unit.spec);
    for (int64_t i = 0; i < b; ++i) {
      const int64_t pos = first + u * b + i;
      unit.positions.push_back(stream.at(pos));
      unit.augment.push_back(mix_seed(seed, kAugmentStream * 1000 + static_cast<uint64_t>(p.task), static_cast<uint64_t>(pos)));
    }
    p.units.push_back(std::move(unit));
  }
  return p;
}

}  // namespace tal
