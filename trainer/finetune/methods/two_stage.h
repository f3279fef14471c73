// Two-stage parameter-efficient transfer (Zhao et al., arXiv 2303.07910, "TTC-Tuning"; the module of its follow-up
// SCT, arXiv 2309.08513): stage 1 tunes the LayerNorms and the head (ln); then a Taylor importance on each block's
// residual stream picks K channels per block, and stage 2 trains a K x K map on them (and the head):
//   h[..., S_l] <- h[..., S_l] + h[..., S_l]·W_lᵀ + b_l,   W_l = 0, b_l = 0 at the start of stage 2.
// The importance's exact form is a reconstruction (the paper names a "Taylor expansion-based importance score";
// Molchanov et al.'s first-order form on activations is taken), as are the 50/50 split of the steps and the frozen
// LayerNorms of stage 2 (key ln=trained keeps them trained).
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "datasets/tasks.h"
#include "hypernet/targets.h"

namespace tal {

// I_l(c) = (1/|D|) Σ_n | (1/T_n) Σ_t h_{n,t,c} ∂L_n/∂h_{n,t,c} | over the examples at `positions` of the training split
// (no augmentation, no label smoothing), with h_l the residual stream after block l's attention add: [depth, width],
// double. t runs over an example's content positions, T_n their count (GPT-2: its text; ViT: every token).
at::Tensor taylor_importance(const ArchSpec& spec, const ParamMap& params, const Task& task,
                             const std::vector<int64_t>& positions, int64_t batch = 64);

// The K channels of highest importance, in increasing index order (ties: the lower index).
at::Tensor top_channels(const at::Tensor& importance, int64_t k);

}  // namespace tal
