// Functional forward passes of the target architectures, dispatched through their family. Parameters come from
// outside (a name -> tensor map), so gradients flow into whatever produced them (a hypernetwork, or leaf tensors in
// a plain training run).
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <unordered_map>

#include "hypernet/arch_spec.h"
#include "hypernet/block_hooks.h"

namespace tal {

using ParamMap = std::unordered_map<std::string, at::Tensor>;

// input -> logits, as the spec's family defines it (ViT: images -> [B, classes]; GPT-2: tokens -> [B, T, vocab]),
// with a transfer method's modules in every block where `hooks` is given.
at::Tensor target_forward(const ArchSpec& spec, const ParamMap& params, const at::Tensor& input,
                          const BlockHooks* hooks = nullptr);
// The representation a task embedding averages, [B, width] (ViT: the class token after the final LayerNorm).
at::Tensor target_features(const ArchSpec& spec, const ParamMap& params, const at::Tensor& input,
                           const BlockHooks* hooks = nullptr);
// Fresh parameters with the family's reference initialisation (torchvision ViT / HF GPT-2), as leaves.
ParamMap init_params(const ArchSpec& spec, uint64_t seed);

// Scaled dot-product attention over packed projections q, k, v [B, T, C] with `heads` heads; -> [B, T, C].
at::Tensor multi_head_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t heads,
                                bool causal);

// Looks a parameter up, failing with its name and the architecture if absent.
const at::Tensor& param_at(const ArchSpec& spec, const ParamMap& params, const std::string& name);

}  // namespace tal
