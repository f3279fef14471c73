#include "trainer/train/step_plan.h"

#include <algorithm>
#include <numeric>

#include "base/error.h"
#include "base/rng.h"

namespace tal {
namespace {

// Streams of the counter-based generator; each names one kind of draw.
constexpr uint64_t kArchStream = 11, kClassRowStream = 13, kAugmentStream = 14, kTaskStream = 15;

}  // namespace

std::vector<std::vector<WorkPiece>> plan_work(const std::vector<int64_t>& costs, int64_t b, int64_t world) {
  TAL_ASSERT(world >= 1 && b >= 1 && !costs.empty());
  const auto m = static_cast<int64_t>(costs.size());
  std::vector<std::vector<WorkPiece>> plan(static_cast<size_t>(world));
  if (m >= world) {
    std::vector<int64_t> order(static_cast<size_t>(m));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t c) { return costs[a] > costs[c]; });
    std::vector<int64_t> load(static_cast<size_t>(world), 0);
    for (auto u : order) {
      const auto r = std::min_element(load.begin(), load.end()) - load.begin();
      load[static_cast<size_t>(r)] += costs[static_cast<size_t>(u)];
      plan[static_cast<size_t>(r)].push_back({u, 0, b});
    }
    for (auto& p : plan) std::sort(p.begin(), p.end(), [](const WorkPiece& a, const WorkPiece& c) { return a.unit < c.unit; });
    return plan;
  }
  for (int64_t u = 0; u < m; ++u) {
    std::vector<int64_t> ranks;
    for (int64_t r = u; r < world; r += m) ranks.push_back(r);
    const auto k = static_cast<int64_t>(ranks.size());
    for (int64_t j = 0; j < k; ++j) {
      const int64_t lo = b * j / k, hi = b * (j + 1) / k;
      plan[static_cast<size_t>(ranks[static_cast<size_t>(j)])].push_back({u, lo, hi - lo});
    }
  }
  return plan;
}

std::vector<WorkPiece> StepPlan::pieces_for(int64_t rank, int64_t world) const {
  std::vector<int64_t> costs;
  for (const auto& u : units) costs.push_back(count_params(u.spec, true));
  const auto images = static_cast<int64_t>(units.front().positions.size());
  return plan_work(costs, images, world)[static_cast<size_t>(rank)];
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
