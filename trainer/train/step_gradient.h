// This rank's part of a step's gradient: the target gradients of every unit it touches (unit_gradient.h), the
// exchange that completes the units shared with other ranks, and the hypernetwork backward of the units it owns,
// summed in double precision into one buffer in the hypernetwork's parameter order.
//
// Running out of memory is survivable (DESIGN 4.4): the work before the exchange and the backward after it are
// guarded, and when units are shared the ranks agree before the exchange, so a rank that ran out of memory never
// leaves the others inside it. The step is then skipped by the consensus at its end (update.h).
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "dist/communicator.h"
#include "trainer/train/unit_gradient.h"

namespace tal {

struct StepContribution {
  double loss = 0;     // this rank's share of the step loss
  int64_t images = 0;  // images this rank processed
  int64_t units = 0;   // units this rank touched
  std::string out_of_memory;  // the allocator's message when this rank ran out of memory (its gradient is void)
  bool exchange_skipped = false;  // a rank ran out of memory before the exchange: every rank skipped it
};

// Faults injected for tests (debug.*): this rank's allocation fails after its first unit's target gradient.
struct StepFaults {
  bool out_of_memory = false;
};

StepContribution step_gradient(Hypernet& net, const std::vector<at::Tensor>& params, const StepPlan& plan,
                               const WorkPlan& work, const std::vector<UnitBatch>& pieces,
                               const at::Tensor& task_embedding, const AncestryModel* teacher,
                               const LossWeights& weights, Communicator& comm, at::Tensor& grad,
                               StepTimings& timings, const StepFaults& faults = {});

}  // namespace tal
