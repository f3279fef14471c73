// The fair protocol's pieces that act on data and weights (DESIGN.md 4.4a): the validation slice every choice is made
// on, and the references' symmetry-breaking noise for predicted tensors. The choices themselves (learning rate per
// initialisation, paired differences) are in trainer/files/finetune_statistics.h, shared with tal report.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hypernet/targets.h"

namespace tal {

// A task's training split cut in two: `val` is round(fraction x n) positions drawn without replacement by a
// permutation seeded with `seed` (the task's and the run's seeds, so every rank, every initialisation and every
// resume holds back the same images); `train` is the rest. Both ascending; together they are 0..n-1.
struct TrainValSplit {
  std::vector<int64_t> train, val;
};
TrainValSplit validation_split(int64_t n, double fraction, uint64_t seed);

// ppuda's init(beta) for predicted weights: every weight (a name ending in `weight`) of two or more dimensions gets
// beta x std(corrcoef(W)) x N(0, 1), W seen as a matrix of its first dimension by the rest (the longer side as rows);
// a LayerNorm's weight and bias (a 1-D `.weight` with its `.bias`) get the same with the std of the last matrix
// before them in parameter order. Tied copies (a tiled decoder's repeated blocks) become distinct; beta = 0 changes
// nothing. Two deviations from the reference, said here: packed attention projections (in_proj_weight, c_attn)
// get noise too (torchvision's MultiheadAttention has no `weight`, so ppuda skipped them and left W_q = W_k = W_v
// tied), and the correlation's std is estimated from at most 1024 rows (a 50,257-row embedding would need a
// 50,257^2 matrix). `skip(name)` marks the tensors left alone (the classifier; tensors that were not predicted).
// Draws come from a generator seeded with `seed`, in parameter order.
void break_symmetry(const std::vector<ParamInfo>& order, ParamMap& params, double beta, uint64_t seed,
                    const std::function<bool(const std::string&)>& skip);

// The std of the correlation coefficients between W's rows (W as above), over at most `max_rows` rows evenly
// spaced; rows of zero variance are left out, and 0 is returned below two usable rows.
double correlation_std(const at::Tensor& w, int64_t max_rows = 1024);

// How varied a descendant's initial layers are (the "layer collapse" a hypernetwork can show): over the weight
// matrices repeated across layers (tensors grouped by name with every number replaced, and by shape: each
// layer's mlp.0.weight, in_proj_weight, ...), the mean |cosine| between two layers' copies of a tensor, the mean
// stable rank ||W||_F^2 / ||W||_2^2 (W as a matrix of its first dimension by the rest) and the mean standard
// deviation. -1 where the architecture has no repeated tensor (a single layer) or none of two dimensions.
struct BodyStats {
  double cosine = -1, stable_rank = -1, std = -1;
};
BodyStats body_statistics(const std::vector<ParamInfo>& order, const ParamMap& params);

}  // namespace tal
