// The per-unit gradient of a training step: predict one architecture with the hypernetwork, run its functional
// forward and the family's loss on this rank's images of that unit (plus distillation from the teacher in
// stage 1 and the norm regulariser), and add d(loss)/d(hypernet) to a double-precision buffer. Each unit is
// predicted alone (no padding against other graphs), so its gradient is the same whatever the rank layout.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "datasets/tasks.h"
#include "hypernet/graph.h"
#include "hypernet/hypernet.h"
#include "trainer/files/ancestry_file.h"
#include "trainer/train/step_plan.h"
#include "trainer/train/step_timings.h"

namespace tal {

struct LossWeights {
  double label_smoothing = 0.1;
  double kd_weight = 0;        // (1 - w) CE + w KD, when a teacher is given
  double kd_temperature = 3.0;
  double reg_weight = 0;       // x sum of predicted-tensor norms
};

// One piece of one unit's images on this rank.
struct UnitBatch {
  WorkPiece work;
  Batch batch;
};

struct UnitContribution {
  double loss = 0;     // this rank's share of the step loss from this unit
  int64_t images = 0;
};

// `step_images` = units x images per unit: per-image losses are summed and divided by it, and a piece of n images
// carries n / step_images of its unit's regulariser, so the ranks' contributions add up to the single-process loss.
// `grad` is a double buffer of the hypernet's parameters in order (at least their total numel long).
UnitContribution accumulate_unit_gradient(Hypernet& net, const std::vector<at::Tensor>& params, const Graph& graph,
                                          uint64_t class_row_seed, const at::Tensor& task_embedding,
                                          const std::vector<const UnitBatch*>& pieces, const AncestryModel* teacher,
                                          const LossWeights& weights, int64_t step_images, at::Tensor& grad,
                                          StepTimings& timings);

}  // namespace tal
