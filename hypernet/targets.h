// Functional forward passes of the target architectures. Parameters come from outside (a name -> tensor map), so
// gradients flow into whatever produced them (a hypernetwork, or leaf tensors in a plain training run).
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <unordered_map>

#include "hypernet/arch_spec.h"

namespace tal {

using ParamMap = std::unordered_map<std::string, at::Tensor>;

// torchvision VisionTransformer: images [B, channels, image, image] -> logits [B, classes].
// A missing `class_token` is taken as zeros (torchvision's initial value; no hypernetwork predicts it).
at::Tensor vit_forward(const ArchSpec& spec, const ParamMap& params, const at::Tensor& images);
// The class token after the final LayerNorm, [B, width]: the feature the ancestry model provides.
at::Tensor vit_features(const ArchSpec& spec, const ParamMap& params, const at::Tensor& images);

// HF GPT2LMHeadModel with untied lm_head: token ids [B, T] (T <= context) -> logits [B, T, vocab].
at::Tensor gpt2_forward(const ArchSpec& spec, const ParamMap& params, const at::Tensor& tokens);

// Dispatch on the spec's family.
at::Tensor target_forward(const ArchSpec& spec, const ParamMap& params, const at::Tensor& input);

// Scaled dot-product attention over packed projections q, k, v [B, T, C] with `heads` heads; -> [B, T, C].
at::Tensor multi_head_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t heads,
                                bool causal);

// Looks a parameter up, failing with its name and the architecture if absent or of the wrong shape.
const at::Tensor& param_at(const ArchSpec& spec, const ParamMap& params, const std::string& name);

// Fresh parameters with the reference initialisation of each family (torchvision ViT / HF GPT-2), as leaves.
ParamMap init_params(const ArchSpec& spec, uint64_t seed);

}  // namespace tal
