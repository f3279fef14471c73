// The per-unit gradient of a training step, in two phases. First, on every rank that holds some of the unit's
// chunks: predict the architecture with the hypernetwork, run its functional forward and the family's loss (plus
// distillation from the teacher in stage 1) on each chunk alone, and sum the gradients with respect to the
// predicted tensors in double precision. Then, on the unit's owner, once those sums are complete (added over the
// ranks that share the unit): add the norm regulariser and push the total back through the hypernetwork into a
// double-precision buffer. Each chunk's gradient is the same bits whatever rank computes it, so N ranks sum what
// one rank sums.
#pragma once

#include <ATen/ATen.h>

#include <string>
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
  bool bf16 = false;           // the target forward (and teacher) under bfloat16 autocast
};

// One piece of one unit's images on this rank.
struct UnitBatch {
  WorkPiece work;
  Batch batch;
};

// A unit between its two phases.
struct UnitTargetGradient {
  std::vector<at::Tensor> predicted;  // the predicted tensors, in the architecture's parameter order
  ParamMap params;                    // the same tensors by name
  at::Tensor sum;                     // double [total numel]: d(loss)/d(predicted), summed over this rank's chunks
  double loss = 0;                    // this rank's share of the step loss from this unit's chunks
  int64_t images = 0;
};

struct StepShape {
  int64_t units = 1;          // units per step (m)
  int64_t images = 1;         // images per unit (b)
  int64_t chunk_images = 0;   // images per chunk (0: the whole unit)
};

// Phase 1. Per-image losses are summed and divided by units x images, so the ranks' sums add up to the
// single-process loss.
UnitTargetGradient target_gradient(Hypernet& net, const Graph& graph, uint64_t class_row_seed,
                                   const at::Tensor& task_embedding, const std::vector<const UnitBatch*>& pieces,
                                   const AncestryModel* teacher, const LossWeights& weights, const StepShape& shape,
                                   StepTimings& timings);

// Phase 2, on the owner, with `u.sum` complete: adds the regulariser's share of the unit (its weight / units) and
// adds d(loss)/d(hypernet) to `grad` (double, the hypernet's parameters in order). Returns the regulariser's loss.
double hypernet_gradient(UnitTargetGradient& u, const std::vector<at::Tensor>& params, double reg_weight,
                         int64_t units, at::Tensor& grad, StepTimings& timings);

// Total numel of an architecture's predicted tensors (the length of UnitTargetGradient::sum).
int64_t predicted_numel(const ArchSpec& spec);

}  // namespace tal
