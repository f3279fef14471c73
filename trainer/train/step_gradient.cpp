#include "trainer/train/step_gradient.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <new>

#include "trainer/train/out_of_memory.h"

namespace tal {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

StepContribution step_gradient(Hypernet& net, const std::vector<at::Tensor>& params, const StepPlan& plan,
                               const WorkPlan& work, const std::vector<UnitBatch>& pieces, const at::Tensor& task_e,
                               const AncestryModel* teacher, const LossWeights& weights, Communicator& comm,
                               at::Tensor& grad, StepTimings& timings, const StepFaults& faults) {
  const auto m = static_cast<int64_t>(plan.units.size());
  const StepShape shape{m, static_cast<int64_t>(plan.units.front().positions.size()), plan.chunk_images};
  std::vector<int64_t> units;
  for (const auto& piece : pieces)
    if (std::find(units.begin(), units.end(), piece.work.unit) == units.end()) units.push_back(piece.work.unit);
  StepContribution out;
  out.units = static_cast<int64_t>(units.size());
  std::map<int64_t, UnitTargetGradient> shared;  // split units this rank touches, until the exchange
  std::map<int64_t, at::Tensor> sums;             // what this rank adds to each split unit in the exchange
  std::map<int64_t, size_t> sample_of;
  bool any_split = false;
  for (int64_t u = 0; u < m; ++u) any_split = any_split || work.split(u);

  // 1. This rank's own work: target gradients, the backward of whole units, and every buffer the exchange needs.
  out.out_of_memory = run_unless_out_of_memory([&] {
    for (auto u : units) {
      const auto& unit = plan.units[static_cast<size_t>(u)];
      auto t0 = Clock::now();
      const Graph graph = build_graph(unit.spec);
      timings.graphs += seconds_since(t0);
      std::vector<const UnitBatch*> mine;
      for (const auto& piece : pieces)
        if (piece.work.unit == u) mine.push_back(&piece);
      const double f0 = timings.hypernet_forward, t1 = timings.target_forward + timings.target_backward;
      auto tg = target_gradient(net, graph, unit.class_row_seed, task_e, mine, teacher, weights, shape, timings);
      if (faults.out_of_memory) throw std::bad_alloc();
      UnitSample sample;
      sample.predict_model = unit.cost.predict;
      sample.predict_seconds = timings.hypernet_forward - f0;
      sample.target_model = unit.cost.per_image * static_cast<double>(tg.images);
      sample.target_seconds = timings.target_forward + timings.target_backward - t1;
      out.loss += tg.loss;
      out.images += tg.images;
      ++timings.predictions;
      if (!work.split(u)) {
        const double b0 = timings.hypernet_backward;
        out.loss += hypernet_gradient(tg, params, weights.reg_weight, m, grad, timings);
        sample.backward_model = unit.cost.backward;
        sample.backward_seconds = timings.hypernet_backward - b0;
      } else {
        sums[u] = tg.sum;
        shared.emplace(u, std::move(tg));
      }
      sample_of[u] = timings.samples.size();
      timings.samples.push_back(sample);
    }
    for (int64_t u = 0; u < m; ++u)
      if (work.split(u) && !sums.count(u))
        sums[u] = at::zeros({predicted_numel(plan.units[static_cast<size_t>(u)].spec)}, grad.options());
  });
  if (!any_split) return out;
  // Every rank takes part in every reduce below, or none does.
  if (comm.any(!out.out_of_memory.empty(), "out-of-memory consensus before the shared units' exchange")) {
    out.exchange_skipped = true;
    return out;
  }

  // 2. The units shared by several ranks: each one's target gradient is added up on its owner (a reduce per shared
  //    unit, in unit order, on every rank: zeros where a rank holds none of the unit), which then finishes it.
  for (int64_t u = 0; u < m; ++u) {
    if (!work.split(u)) continue;
    const auto t0 = Clock::now();
    const int owner = static_cast<int>(work.owner[static_cast<size_t>(u)]);
    comm.reduce_sum(sums[u], owner, "a shared unit's target gradient");
    timings.exchange += seconds_since(t0);
    if (owner != comm.rank()) sums.erase(u);
  }
  out.out_of_memory = run_unless_out_of_memory([&] {
    for (auto& [u, sum] : sums) {
      auto& tg = shared.at(u);
      tg.sum = sum;
      const double b0 = timings.hypernet_backward;
      out.loss += hypernet_gradient(tg, params, weights.reg_weight, m, grad, timings);
      auto& sample = timings.samples[sample_of.at(u)];
      sample.backward_model = plan.units[static_cast<size_t>(u)].cost.backward;
      sample.backward_seconds = timings.hypernet_backward - b0;
    }
  });
  return out;
}

}  // namespace tal
