// A graph hypernetwork (GHN-3, LoGAH or TAL): reads a meta-batch of architecture graphs (and, for TAL, a task
// embedding) and predicts every parameter of each architecture. ATen-only header; the modules live in modules.h.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hypernet/graph.h"
#include "hypernet/graph_batch.h"
#include "hypernet/hypernet_config.h"
#include "hypernet/targets.h"

namespace tal {

namespace modules {
struct HypernetImpl;
}
class ShapeVocab;

// Intermediate tensors of one encoder pass, for parity tests and inspection.
struct EncoderTrace {
  at::Tensor shape_ind;   // [B, N, 4]
  at::Tensor x0;          // [B, N, d] op + shape embedding
  at::Tensor edge_bias;   // [B, N, N, heads]
  at::Tensor x_layers;    // [L, B, N, d] after each Graphormer layer
  at::Tensor x_enc;       // [B, N, d] after the final LayerNorm
  at::Tensor film_gamma;  // [L, d] or [L, B, d] (tal)
  at::Tensor film_beta;
};

struct PredictOptions {
  // The ViT positional embedding's class-token row is not predicted: the references draw it from N(0, 0.02^2).
  // We draw it from a generator seeded per graph (class_row_seeds[i], or a hash of the spec when empty), so
  // predictions are reproducible.
  std::vector<uint64_t> class_row_seeds;
};

class Hypernet {
 public:
  // Builds the modules with fresh initialisation drawn from `seed`.
  explicit Hypernet(const HypernetConfig& config, uint64_t seed = 0);
  ~Hypernet();
  Hypernet(Hypernet&&) noexcept;

  const HypernetConfig& config() const;

  // Node embeddings after the final LayerNorm, [B, N, d]. `task`: [task_dim] or [B, task_dim] (tal only).
  at::Tensor encode(const GraphBatch& batch, const at::Tensor& task = {}, EncoderTrace* trace = nullptr);

  // Every predicted parameter of each graph, by name (ViT class_token excluded), differentiable w.r.t. the
  // hypernetwork when grad mode is on. An inheriting hypernetwork (config().inherits()) starts each tensor the
  // ancestry has from its weight-selected copy (see HypernetConfig::base) and also returns the selected tensors no
  // graph node predicts (ViT class_token), as constants.
  std::vector<ParamMap> predict(const std::vector<const Graph*>& graphs, const at::Tensor& task = {},
                                const PredictOptions& options = {});

  // The ancestry model an inheriting hypernetwork starts from (required before predict when inherits()); its
  // tensors are copied to the hypernetwork's device. `content_hash` identifies it in errors and checkpoints.
  void set_base(const ArchSpec& spec, const ParamMap& params, const std::string& content_hash);
  const std::string& base_hash() const;

  // The checkpoint contract: parameter names as the reference state_dicts name them.
  std::vector<std::pair<std::string, at::Tensor>> named_parameters() const;
  std::vector<at::Tensor> parameters() const;
  int64_t num_parameters() const;
  // Parameter count per top-level module (embed, shape_enc, gnn, ln, decoder, ...), in registration order.
  std::vector<std::pair<std::string, int64_t>> parameter_counts() const;

  // Copies values into the parameters; `lookup(name)` returns the tensor for a name or an undefined tensor.
  // Throws naming the first missing or mis-shaped parameter.
  void load(const std::function<at::Tensor(const std::string&)>& lookup);

  void train(bool on = true);
  void to(at::Device device);
  void to(at::ScalarType dtype);  // e.g. kDouble for gradient checks

 private:
  struct Base;
  std::shared_ptr<modules::HypernetImpl> impl_;
  std::unique_ptr<ShapeVocab> vocab_;
  std::shared_ptr<Base> base_;
};

// Floating-point operations of predicting every parameter of `graph`'s architecture (encoder and decoder, one
// graph alone); the backward pass through the hypernetwork costs about twice this.
double predict_flops(const HypernetConfig& config, const Graph& graph);

// Σ ||W||_F over predicted tensors: the references' regulariser (times a small coefficient, 3e-5).
at::Tensor predicted_norm_sum(const ParamMap& params);

}  // namespace tal
