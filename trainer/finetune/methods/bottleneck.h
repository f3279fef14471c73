// The bottleneck adapter module (Houlsby et al. 2019; Pfeiffer et al. 2021): u + W_up·ReLU(W_down·u + b_down) + b_up.
// The adapter method trains one per block; ScaLearn scales the outputs of several, trained on other tasks.
#pragma once

#include <ATen/ATen.h>

namespace tal {

struct Bottleneck {
  at::Tensor down, down_bias, up, up_bias;  // [m, C], [m], [C, m], [C]
  // What the module adds to its input (its output before the residual).
  at::Tensor delta(const at::Tensor& u) const {
    return at::linear(at::relu(at::linear(u, down, down_bias)), up, up_bias);
  }
  at::Tensor operator()(const at::Tensor& u) const { return u + delta(u); }
};

}  // namespace tal
