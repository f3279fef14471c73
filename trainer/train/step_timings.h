// Seconds spent in each part of the steps timed so far (tal bench step reports them), and for each unit this
// rank worked on, the cost model's figures next to the measured times.
#pragma once

#include <cstdint>
#include <vector>

namespace tal {

// The cost model's seconds (step_plan.h) next to the measured ones.
struct UnitSample {
  double target_model = 0, target_seconds = 0;      // the target's forward and backward on this rank's chunks
  double predict_model = 0, predict_seconds = 0;    // the hypernetwork's forward
  double backward_model = 0, backward_seconds = 0;  // its backward (owners only; 0 elsewhere)
};

struct StepTimings {
  double plan = 0, data_wait = 0, graphs = 0, hypernet_forward = 0, target_forward = 0, target_backward = 0,
         hypernet_backward = 0, exchange = 0, allreduce = 0, optimizer = 0, total = 0;
  int64_t steps = 0, images = 0, archs = 0;
  int64_t predictions = 0;  // architectures this rank predicted (more than its units when units are shared)
  double balance = 0;       // the plans' modelled balance (mean / max rank load), summed over steps
  double duplicated = 0;    // the plans' share of prediction work done by more than one rank, summed over steps
  int64_t shared_units = 0;  // units split between ranks, over all steps
  std::vector<UnitSample> samples;
  // Time in collectives, which includes waiting for the slowest rank.
  double waiting() const { return exchange + allreduce; }
};

}  // namespace tal
