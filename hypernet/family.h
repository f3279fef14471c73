// A family of target architectures (ViT, GPT-2, ...): everything that differs between families, reached through
// one entry per family. Spec keys with defaults and bounds, validation, zoo rules, the closed-form graph, parameter
// names and shapes, how predicted tensors are scaled, the functional forward, the default initialisation and the
// loss. Nothing outside a family's own file branches on which family it is; adding one (a CNN, a Llama) is one new
// file plus one line in family_registry.cpp.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "hypernet/arch_spec.h"
#include "hypernet/block_hooks.h"
#include "hypernet/family_registry.h"
#include "hypernet/targets.h"

namespace tal {

class SplitMix;
struct Graph;
struct ZooRules;

// How a predicted tensor is post-processed beyond the generic fan-in / sigmoid / tanh rules of the references.
struct PredictedScaling {
  bool raw = false;      // left exactly as decoded (positional tables, embeddings)
  double divisor = 1.0;  // divides the fan-in scale (GPT-2 residual projections: sqrt(2 n_layer))
};

class Family {
 public:
  virtual ~Family() = default;
  virtual std::string name() const = 0;
  // The library whose layout parameter names and shapes follow ("torchvision's VisionTransformer").
  virtual std::string reference_layout() const = 0;
  // Whether its inputs are token sequences (text task stores) rather than images.
  virtual bool reads_text() const { return false; }
  // Canonical key order (parse(str()) == spec), defaults and upper bounds.
  virtual const std::vector<SpecKey>& keys() const = 0;
  // Fills keys the user did not give from those given (mlp = 4 * width unless given).
  virtual void complete(ArchSpec& spec, const std::vector<std::string>& given) const;
  // Rules across keys (heads divides width, patch divides image); throws tal::Error naming the key.
  virtual void validate(const ArchSpec& spec) const = 0;

  // The classes of architectures sampled without a task (tal zoo sample, bench): ViT 10, GPT-2 0 (the language
  // models of GPTs-1K).
  virtual int64_t taskless_classes() const = 0;
  // The family's defaults with what the data fixes applied (e.g. image size, channels, classes, patch for the size).
  virtual ArchSpec defaults_for(const DataShape& data) const = 0;
  // Applies what the data fixes to a spec (zoo samples, archived specs); keys the data does not fix are kept.
  virtual void fit(ArchSpec& spec, const DataShape& data) const = 0;
  // "" when `spec` fits `data`, else what differs ("3 channels, 28x28 images, 10 classes").
  virtual std::string mismatch(const ArchSpec& spec, const DataShape& data) const = 0;

  // Parameters in state_dict order, names and shapes exactly as the family's reference library has them.
  virtual std::vector<ParamInfo> params(const ArchSpec& spec) const = 0;
  // Parameters no graph node predicts (ViT: class_token).
  virtual bool is_predicted(const ArchSpec& spec, const std::string& name) const;
  virtual Graph graph(const ArchSpec& spec, int cutoff) const = 0;
  // The classifier is task-specific (its rows are the task's classes): weight selection does not take it from a
  // model trained on other classes.
  virtual bool is_classifier(const std::string& name) const = 0;
  // A LayerNorm's scale or shift (what the ln and two-stage transfer methods train).
  virtual bool is_layer_norm(const std::string& name) const = 0;
  // The configuration file the reference library builds the model from before loading its weights (HF's
  // config.json), "" where its constructor arguments are all it needs (torchvision's ViT).
  virtual std::string library_config(const ArchSpec& spec) const;
  // Where the transfer methods' modules attach and how they are named and merged: the name prefix of block `l`
  // ("encoder.layers.encoder_layer_0."), its packed q | k | v projection weight and its other projections' weights.
  virtual std::string block_prefix(int64_t l) const = 0;
  virtual std::string qkv_weight(int64_t l) const = 0;
  virtual std::string projection_weight(int64_t l, Projection p) const = 0;
  // Whether the projections' weights are stored [in, out] (HF's Conv1D) rather than [out, in].
  virtual bool weights_stored_in_by_out() const { return false; }
  // Which positions of an input are its content, [B, T] (GPT-2: the text before its first <|endoftext|>); undefined
  // where every position is (ViT's tokens).
  virtual at::Tensor content_positions(const at::Tensor& input) const {
    (void)input;
    return {};
  }
  // Token and position embedding tables shared by every task (GPT-2's wte, wpe: 97% of a small GPT-2), which
  // parameter counts are also given without.
  virtual bool is_shared_embedding(const std::string& name) const {
    (void)name;
    return false;
  }
  virtual PredictedScaling scaling(const ArchSpec& spec, const std::string& name) const = 0;

  // Zoo rules this family samples (vits-1k, ...), and one draw from them.
  virtual std::vector<std::string> zoo_rules() const = 0;
  virtual ArchSpec sample(const ZooRules& rules, SplitMix& rng) const = 0;

  // input -> logits (images [B,C,H,W] -> [B, classes]; tokens [B,T] -> [B, T, vocab]). `hooks` (may be null): the
  // transfer methods' insertion points in every block (block_hooks.h).
  virtual at::Tensor forward(const ArchSpec& spec, const ParamMap& params, const at::Tensor& input,
                             const BlockHooks* hooks) const = 0;
  // The representation a task embedding averages: [B, width].
  virtual at::Tensor features(const ArchSpec& spec, const ParamMap& params, const at::Tensor& input,
                              const BlockHooks* hooks) const = 0;
  // Fresh parameters with the family's reference initialisation, as leaves.
  virtual ParamMap init(const ArchSpec& spec, uint64_t seed) const = 0;
  // Per-example training loss (cross-entropy with label smoothing), one value per example: [B].
  virtual at::Tensor loss(const at::Tensor& logits, const at::Tensor& targets, double smoothing) const = 0;
  // Per-example distillation T^2 KL(teacher || student): [B].
  virtual at::Tensor distillation(const at::Tensor& student, const at::Tensor& teacher, double temperature) const = 0;
  // The work of one forward pass over one example: floating-point operations of the matrix products (multiply-adds
  // count 2) and elements touched by the element-wise steps (norms, activations, softmax, residual adds), which on
  // small models take as long as the products. The cost model (trainer/train/step_plan.cpp) weighs both.
  struct ForwardCost {
    double flops = 0, elements = 0;
  };
  virtual ForwardCost forward_cost(const ArchSpec& spec) const = 0;
  // Per-example correctness for accuracy: [B] bool.
  virtual at::Tensor correct(const at::Tensor& logits, const at::Tensor& targets) const = 0;
  // At most how many logits one example's forward makes (classes; a language model: context x vocabulary), so
  // evaluation can size its batches.
  virtual int64_t outputs_per_example(const ArchSpec& spec) const = 0;
};

// Shared by the families' loss entries.
at::Tensor per_example_cross_entropy(const at::Tensor& logits, const at::Tensor& targets, double smoothing);
at::Tensor per_example_distillation(const at::Tensor& student, const at::Tensor& teacher, double temperature);

}  // namespace tal
