// Insertion points inside every transformer block of a descendant, for the transfer methods that add small modules
// to a frozen host (LoRA, adapters, channel maps; trainer/finetune/methods/). A family's forward calls them in each
// block, in pre-LN order:
//   y = LN1(x); qkv = qkv(l, y, y·Wqkv + b); o = MHA(q, k, v); a = projection(l, Out, o, o·Wo + bo);
//   x <- x + attention(l, a); x = residual(l, x); z = LN2(x); f = GELU(projection(l, Fc1, z, z·W1 + b1));
//   u = projection(l, Fc2, f, f·W2 + b2); x <- x + mlp(l, u)
// Each returns the tensor to go on with; the defaults return their argument untouched, so a forward without hooks
// and one with identity hooks are the same computation. qkv's output is [B, T, 3C] with q | k | v in that order for
// every family (ViT's in_proj rows, GPT-2's c_attn columns), so one module serves both.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace tal {

// A block's projections other than q | k | v: the attention's out-projection and the MLP's two layers.
enum class Projection { Out, Fc1, Fc2 };

struct BlockHooks {
  virtual ~BlockHooks() = default;
  // The output of projection `p` of block `l`, given its input.
  virtual at::Tensor projection(int64_t l, Projection p, const at::Tensor& input, const at::Tensor& output) const {
    (void)l, (void)p, (void)input;
    return output;
  }
  // The packed q | k | v projection of block `l`, given the projection's input.
  virtual at::Tensor qkv(int64_t l, const at::Tensor& input, const at::Tensor& projected) const {
    (void)l, (void)input;
    return projected;
  }
  // The attention's output (after its out-projection), before the residual add.
  virtual at::Tensor attention(int64_t l, const at::Tensor& out) const {
    (void)l;
    return out;
  }
  // The residual stream after the attention add: the input of LN2 and of the MLP's residual.
  virtual at::Tensor residual(int64_t l, const at::Tensor& x) const {
    (void)l;
    return x;
  }
  // The MLP's output, before its residual add.
  virtual at::Tensor mlp(int64_t l, const at::Tensor& u) const {
    (void)l;
    return u;
  }
};

}  // namespace tal
