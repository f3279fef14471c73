// LibTorch modules of the hypernetworks. Module and parameter names repeat the reference implementations'
// state_dict names (gnn.0.attn.to_qkv.weight, decoder.mlp.fc.0.weight, ...): they are the checkpoint contract.
// Only hypernet/*.cpp include this header (it pulls in torch/nn, which is slow to compile).
#pragma once

#include <torch/nn.h>

#include "hypernet/hypernet_config.h"

namespace tal::modules {

// ppuda's MLP: Linear/ReLU pairs in a Sequential named `fc`, no activation after the last Linear.
struct MlpImpl : torch::nn::Module {
  MlpImpl(int64_t in, const std::vector<int64_t>& widths);
  torch::Tensor forward(const torch::Tensor& x) { return fc->forward(x); }
  torch::nn::Sequential fc{nullptr};
};
TORCH_MODULE(Mlp);

// FiLM of the task embedding ("TEN" in TAL): y = (1 + gamma(e)) * x + beta(e), maps zero-initialised.
struct TaskFilmImpl : torch::nn::Module {
  TaskFilmImpl(int64_t dim, int64_t task_dim);
  torch::nn::Linear fc_gamma{nullptr}, fc_beta{nullptr};
};
TORCH_MODULE(TaskFilm);

struct EdgeEmbeddingImpl : torch::nn::Module {
  explicit EdgeEmbeddingImpl(int64_t dim);
  torch::nn::Embedding embed{nullptr};
};
TORCH_MODULE(EdgeEmbedding);

struct AttentionImpl : torch::nn::Module {
  AttentionImpl(int64_t dim, int64_t heads, bool with_edges);
  // x [B,N,C], edge_bias [B,N,N,H], mask [B,N,N] (true = valid pair).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& edge_bias, const torch::Tensor& mask);
  int64_t heads;
  torch::nn::Linear to_qkv{nullptr};
  torch::nn::Sequential to_out{nullptr};
  EdgeEmbedding edge_embed{nullptr};
  torch::nn::Sequential proj_e{nullptr};
};
TORCH_MODULE(Attention);

struct FeedForwardImpl : torch::nn::Module {
  explicit FeedForwardImpl(int64_t dim);
  torch::nn::Sequential net{nullptr};
};
TORCH_MODULE(FeedForward);

// Pre-LN Graphormer layer. The first layer also owns the degree and input-distance embeddings and turns the
// distance matrix into a per-head attention bias that later layers reuse.
struct GraphormerLayerImpl : torch::nn::Module {
  GraphormerLayerImpl(int64_t dim, int64_t heads, bool first, bool film, int64_t task_dim);
  bool first;
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  Attention attn{nullptr};
  FeedForward ff{nullptr};
  torch::nn::Embedding centrality_embed_in{nullptr}, centrality_embed_out{nullptr}, input_dist_embed{nullptr};
  TaskFilm film{nullptr};
};
TORCH_MODULE(GraphormerLayer);

struct ShapeEncoderImpl : torch::nn::Module {
  ShapeEncoderImpl(int64_t dim, int64_t n_channels, int64_t n_spatial);
  torch::nn::Embedding embed_channel{nullptr}, embed_spatial{nullptr};
};
TORCH_MODULE(ShapeEncoder);

// GHN-3's decoder: a fixed [M0, M1, S, S] block per node, centre-cropped spatially.
struct TiledDecoderImpl : torch::nn::Module {
  TiledDecoderImpl(int64_t dim, const std::array<int64_t, 4>& max_shape, int64_t num_classes);
  // x [n, d]; key (o, i, k, k). Returns [n, o', i', k', k'] or, for the classifier, [n, num_classes, i'].
  torch::Tensor forward(const torch::Tensor& x, const std::vector<int64_t>& key, bool class_pred);
  int64_t dim;
  std::array<int64_t, 4> out_shape;
  torch::nn::Sequential fc{nullptr}, conv{nullptr}, class_layer_predictor{nullptr};
};
TORCH_MODULE(TiledDecoder);

// LoGAH's decoder: W = A[:c_out k_out] · B[:, :c_in k_in] with A, B^T read from a [2r, ck] matrix reinterpreted as
// [2ck, r]. Only the flat ranges of that matrix a target needs are computed.
struct LowRankDecoderImpl : torch::nn::Module {
  // shared_bias: l2's bias enters every factor (the reference); without it, a term every node's matrix shares is
  // gone (the bias stays registered, unused, so checkpoints keep the reference's names).
  LowRankDecoderImpl(int64_t dim, int64_t rank, int64_t ck, bool shared_bias = true);
  // relu(mlp(x)) viewed [n, 2r, r]: everything the factors depend on.
  torch::Tensor factor_basis(const torch::Tensor& x);
  // Rows [first, first + count) of A (b_side = false) or of B^T (b_side = true): [n, count, r].
  torch::Tensor factor_rows(const torch::Tensor& basis, int64_t first, int64_t count, bool b_side);
  int64_t rank, ck;
  bool shared_bias = true;
  Mlp mlp{nullptr};
  torch::nn::Linear l2{nullptr};
};
TORCH_MODULE(LowRankDecoder);

struct HypernetImpl : torch::nn::Module {
  HypernetImpl(const HypernetConfig& cfg, int64_t n_channels, int64_t n_spatial);
  HypernetConfig cfg;
  torch::nn::Embedding embed{nullptr};
  ShapeEncoder shape_enc{nullptr};
  torch::nn::ModuleList gnn{nullptr};
  torch::nn::LayerNorm ln{nullptr};
  torch::nn::Sequential task_layer{nullptr};
  TiledDecoder tiled{nullptr};
  LowRankDecoder low_rank{nullptr};
  Mlp decoder_1d{nullptr};                                   // ghn3
  torch::nn::Sequential decoder_1d_placeholder{nullptr};     // logah/tal: the reference's unused 1x1 Linear
  torch::nn::Sequential bias_class{nullptr};                 // ghn3: classifier-bias head; else a 1x1 placeholder
  torch::Tensor inherit_gate;                                // base=ancestry|init: [15 ops, weight/bias], zero at start
};
TORCH_MODULE(Hypernet);

}  // namespace tal::modules
