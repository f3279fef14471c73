// This rank's part of a step's gradient: the target gradients of every unit it touches (unit_gradient.h), the
// exchange that completes the units shared with other ranks, and the hypernetwork backward of the units it owns,
// summed in double precision into one buffer in the hypernetwork's parameter order.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "dist/communicator.h"
#include "trainer/train/unit_gradient.h"

namespace tal {

struct StepContribution {
  double loss = 0;     // this rank's share of the step loss
  int64_t images = 0;  // images this rank processed
  int64_t units = 0;   // units this rank touched
};

StepContribution step_gradient(Hypernet& net, const std::vector<at::Tensor>& params, const StepPlan& plan,
                               const WorkPlan& work, const std::vector<UnitBatch>& pieces,
                               const at::Tensor& task_embedding, const AncestryModel* teacher,
                               const LossWeights& weights, Communicator& comm, at::Tensor& grad,
                               StepTimings& timings);

}  // namespace tal
