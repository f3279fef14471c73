// One optimisation step of a target model (a descendant or the ancestry) on a batch of its task, shared by the
// ancestry trainer and every fine-tuning run: the forward (with a transfer method's modules where `hooks` is given),
// the family's loss (mean over the batch, with label smoothing), the backward, and the clipped AdamW update of the
// tensors being trained at the step's learning rate.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <vector>

#include "datasets/tasks.h"
#include "hypernet/targets.h"
#include "trainer/train/optimizer.h"

namespace tal {

struct TargetStep {
  double loss = 0;
  double grad_norm = 0;  // before clipping
};

// `trained`: the tensors the optimiser updates (optim's own list); the batch is moved to their device. `penalty`: a
// term a transfer method adds to the loss (TAPS's sparsity on its scores), made within the step; the loss reported
// is the task's alone.
TargetStep target_step(const ArchSpec& spec, const ParamMap& params, const Batch& batch,
                       std::vector<at::Tensor>& trained, AdamW& optim, double lr, double clip, double smoothing,
                       const BlockHooks* hooks = nullptr, const std::function<at::Tensor()>& penalty = {});

}  // namespace tal
