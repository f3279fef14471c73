// AdamW (PyTorch's update, decoupled weight decay), the cosine schedule with linear warm-up, and global-norm
// gradient clipping, over plain tensors so their state can be checkpointed tensor by tensor.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace tal {

struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

class AdamW {
 public:
  AdamW(std::vector<at::Tensor> params, AdamWConfig config);
  // One update with learning rate `lr` from the parameters' .grad().
  void step(double lr);
  void zero_grad();
  int64_t steps() const { return steps_; }
  const std::vector<at::Tensor>& params() const { return params_; }
  std::vector<at::Tensor>& exp_avg() { return exp_avg_; }
  std::vector<at::Tensor>& exp_avg_sq() { return exp_avg_sq_; }
  void set_steps(int64_t s) { steps_ = s; }

 private:
  std::vector<at::Tensor> params_, exp_avg_, exp_avg_sq_;
  AdamWConfig cfg_;
  int64_t steps_ = 0;
};

// Linear warm-up from 0 over `warmup` steps, then cosine decay to min_ratio * base by `total`.
double cosine_lr(double base, int64_t step, int64_t warmup, int64_t total, double min_ratio = 0.0);

// Scales gradients so their global L2 norm is at most max_norm (if > 0); returns the norm before clipping.
double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm);

}  // namespace tal
