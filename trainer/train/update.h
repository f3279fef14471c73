// The reduced update of a step, once every rank holds the same summed gradient: agree whether to skip a
// non-finite step, then clip to the global norm, one AdamW step, and the EMA of the weights.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "trainer/files/checkpoint.h"
#include "trainer/train/optimizer.h"

namespace tal {

// The flat buffer the ranks all-reduce: every parameter's gradient in double (zeros where this rank's units did
// not reach a parameter), then five step totals.
struct GradientBuffer {
  explicit GradientBuffer(int64_t params, at::Device device = at::kCPU);
  at::Tensor flat;  // double [params + 5]
  int64_t params;
  at::Tensor grads() { return flat.narrow(0, 0, params); }
  void zero() { flat.zero_(); }
  // Before the reduce: this rank's loss (or a non-finite flag), images, units and whether it ran out of memory
  // (its gradient is then void, and its loss is not counted).
  void set_totals(double loss, int64_t images, int64_t units, bool out_of_memory = false);
  // After the reduce.
  double loss() const;
  int bad_ranks() const;            // ranks whose loss or gradients were not finite
  int out_of_memory_ranks() const;  // ranks that ran out of memory
  int64_t images() const;
};

// Why the ranks agreed to skip a step.
struct SkippedStep {
  int nonfinite_ranks = 0;
  int out_of_memory_ranks = 0;
  std::string out_of_memory;  // which ranks ran out, with the memory they had: "rank 1 (612.0 MiB resident: ...)"
};

// Counts a skipped step in `state` and warns (report) naming the cause; throws, in one line naming the cause of the
// last, once `max_bad_steps` are skipped in a row.
void skip_step(TrainState& state, int64_t step, const SkippedStep& why, int64_t max_bad_steps, bool report);

// Copies reduced gradients into the parameters' .grad (float).
void set_gradients(const at::Tensor& grads, std::vector<at::Tensor>& params);

// Clip (clip > 0), AdamW at `lr`, EMA (ema_decay > 0: ema = decay ema + (1 - decay) params). Returns the gradient
// norm before clipping.
double apply_update(std::vector<at::Tensor>& params, AdamW& optim, double lr, double clip, double ema_decay,
                    std::vector<at::Tensor>& ema);

}  // namespace tal
