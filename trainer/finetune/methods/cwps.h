// cwps (seed 001, "CWPS: Efficient Channel-Wise Parameter Sharing for Knowledge Transfer", ICLR 2025 submission,
// withdrawn; no code or full text is public): a task's model shares channels with a *parent* composed block by block
// from a pool of models (the shared host and the models of the tasks before it in the suite order), and keeps its own
// channels where a learned mask says so. What the paper's thread states: the pool, a briefly trained child, a
// layer-wise parent chosen by a task-relation measure (CPMS), channel-wise masks between parent and child trained
// with the child, incremental tasks that never see earlier tasks' data, Param Count x as TAPS's. Everything below that
// is not stated is our reconstruction (marked [recon]), each rule in its own function so that a corrected one is one
// change:
//   channel    one output row j of a block's linear layer with its bias entry: per block 3C (q|k|v) + C (out) + M
//              (fc1) + C (fc2) rows; LayerNorms and embeddings stay the host's [recon]
//   child      the host with every block's linear layers and the head fine-tuned for `child` (0.2) of the steps
//              [recon: 20%]
//   CPMS       CPMS_l(t, p) = mean_j cos(Δchild_{l,j}, Δp_{l,j}), Δ = W − W_host per row, cos with a zero row := 0,
//              so the host scores 0; the task relation CPMS(t, p) = mean_l CPMS_l(t, p) [recon]
//   parent     block l from argmax_p CPMS_l(t, p), the host when every score is <= 0 [recon]
//   masks      a score s_{l,j} per row (init 0.15, above tau = 0.1: shared), m = 1[s >= tau] with a straight-through
//              gradient; W_{l,j} = m·W^parent_{l,j} + (1 − m)·W^child_{l,j}; parent frozen; child rows, scores and
//              head trained for the remaining steps under L_task + lambda·mean(1 − m) (pressure to share) [recon]
//   stored     the child rows with m = 0, one bit per row, one parent index per block, the head
// A model of the pool is rebuilt from what its run stored, on the host the new task's run starts from: on a
// task-conditioned host (tal) an earlier task's own channels are carried onto this task's host.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <string>
#include <vector>

#include "hypernet/arch_spec.h"
#include "hypernet/targets.h"

namespace tal {

// A block's linear layer as CWPS composes it, row by row: its weight and bias as the family names them.
struct ComposedLayer {
  std::string weight, bias;
  int64_t block = 0;
};
// Every block's q|k|v, out-projection, fc1 and fc2, in that order per block.
std::vector<ComposedLayer> composed_layers(const ArchSpec& spec);

// The composed tensors of one model (a host, a child, a pool member), by name.
using ComposedWeights = std::map<std::string, at::Tensor>;
ComposedWeights composed_weights(const ArchSpec& spec, const ParamMap& params);

// CPMS_l(child, member) per block l [recon], against the host: a [depth] double tensor.
at::Tensor cpms_per_block(const ArchSpec& spec, const ComposedWeights& host, const ComposedWeights& child,
                          const ComposedWeights& member);
// Per block, the pool member whose CPMS is highest (index into the columns of `cpms` [depth, pool], column 0 the
// host), the host (0) where no score is above 0 [recon].
std::vector<int64_t> choose_parents(const at::Tensor& cpms);

}  // namespace tal
