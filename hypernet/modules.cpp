#include "hypernet/modules.h"

#include <cmath>

#include "base/error.h"

namespace tal::modules {
namespace nn = torch::nn;

namespace {

constexpr int64_t kMaxDegree = 100;
constexpr int64_t kMaxInputDist = 1000;
constexpr int64_t kEdgeRows = 257;  // distances 0..255 shifted by 2

// GHN-3 initialises every embedding table trunc-normal with std = width^-1/2 (bounds +-2, absolute).
void init_embedding(nn::Embedding& e) {
  torch::NoGradGuard guard;
  const double std = 1.0 / std::sqrt(static_cast<double>(e->weight.size(1)));
  e->weight.normal_(0, std).clamp_(-2, 2);
}

// GHN-3's _init_small for the last decoder layers: weights / 5, zero bias.
void init_small(nn::Linear& l) {
  torch::NoGradGuard guard;
  l->weight.div_(5.0);
  l->bias.zero_();
}

nn::Embedding embedding(int64_t rows, int64_t dim) {
  nn::Embedding e(rows, dim);
  init_embedding(e);
  return e;
}

}  // namespace

MlpImpl::MlpImpl(int64_t in, const std::vector<int64_t>& widths) {
  fc = nn::Sequential();
  for (size_t j = 0; j < widths.size(); ++j) {
    fc->push_back(nn::Linear(j == 0 ? in : widths[j - 1], widths[j]));
    if (j + 1 < widths.size()) fc->push_back(nn::ReLU());
    else fc->push_back(nn::Identity());
  }
  register_module("fc", fc);
}

TaskFilmImpl::TaskFilmImpl(int64_t dim, int64_t task_dim) {
  fc_gamma = register_module("fc_gamma", nn::Linear(task_dim, dim));
  fc_beta = register_module("fc_beta", nn::Linear(task_dim, dim));
  torch::NoGradGuard guard;
  for (auto& p : parameters()) p.zero_();  // a zero FiLM is exactly the LoGAH model it starts from
}

EdgeEmbeddingImpl::EdgeEmbeddingImpl(int64_t dim) { embed = register_module("embed", embedding(kEdgeRows, dim)); }

AttentionImpl::AttentionImpl(int64_t dim, int64_t heads_, bool with_edges) : heads(heads_) {
  to_qkv = register_module("to_qkv", nn::Linear(nn::LinearOptions(dim, 3 * dim).bias(false)));
  to_out = register_module("to_out", nn::Sequential(nn::Linear(dim, dim), nn::Identity()));
  if (with_edges) {
    edge_embed = register_module("edge_embed", EdgeEmbedding(dim));
    proj_e = register_module("proj_e", nn::Sequential(nn::Linear(2 * dim, dim), nn::ReLU(), nn::Linear(dim, heads)));
  }
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& edge_bias, const torch::Tensor& mask) {
  const int64_t b = x.size(0), n = x.size(1), c = x.size(2), hd = c / heads;
  auto qkv = to_qkv->forward(x).reshape({b, n, 3, heads, hd}).permute({2, 0, 3, 1, 4});
  auto q = qkv[0], k = qkv[1], v = qkv[2];
  auto attn = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(hd))) +
              edge_bias.permute({0, 3, 1, 2});
  attn = attn.masked_fill(mask.unsqueeze(1).logical_not(), -32768.0);  // -2^15, as the reference (AMP-safe)
  auto y = torch::matmul(attn.softmax(-1), v).transpose(1, 2).reshape({b, n, c});
  return to_out->forward(y);
}

FeedForwardImpl::FeedForwardImpl(int64_t dim) {
  net = register_module("net", nn::Sequential(nn::Linear(dim, 4 * dim), nn::GELU(), nn::Identity(),
                                              nn::Linear(4 * dim, dim), nn::Identity()));
}

GraphormerLayerImpl::GraphormerLayerImpl(int64_t dim, int64_t heads, bool first_, bool with_film, int64_t task_dim)
    : first(first_) {
  ln1 = register_module("ln1", nn::LayerNorm(nn::LayerNormOptions({dim}).eps(1e-5)));
  attn = register_module("attn", Attention(dim, heads, first));
  ln2 = register_module("ln2", nn::LayerNorm(nn::LayerNormOptions({dim}).eps(1e-5)));
  ff = register_module("ff", FeedForward(dim));
  if (first) {
    centrality_embed_in = register_module("centrality_embed_in", embedding(kMaxDegree + 1, dim));
    centrality_embed_out = register_module("centrality_embed_out", embedding(kMaxDegree + 1, dim));
    input_dist_embed = register_module("input_dist_embed", embedding(kMaxInputDist + 1, dim));
  }
  if (with_film) film = register_module("TEN", TaskFilm(dim, task_dim));
}

ShapeEncoderImpl::ShapeEncoderImpl(int64_t dim, int64_t n_channels, int64_t n_spatial) {
  embed_channel = register_module("embed_channel", embedding(n_channels + 1, dim / 4));
  embed_spatial = register_module("embed_spatial", embedding(n_spatial + 1, dim / 4));
}

TiledDecoderImpl::TiledDecoderImpl(int64_t d, const std::array<int64_t, 4>& max_shape, int64_t num_classes)
    : dim(d), out_shape(max_shape) {
  fc = register_module("fc", nn::Sequential(nn::Linear(d, 4 * d * max_shape[2] * max_shape[3]), nn::ReLU()));
  nn::Linear last(8 * d, max_shape[0] * max_shape[1]);
  init_small(last);
  conv = register_module("conv", nn::Sequential(nn::Linear(4 * d, 8 * d), nn::ReLU(), last, nn::Identity()));
  nn::Linear cls(max_shape[0], num_classes);
  init_small(cls);
  class_layer_predictor = register_module("class_layer_predictor", nn::Sequential(nn::ReLU(), cls));
}

torch::Tensor TiledDecoderImpl::forward(const torch::Tensor& x, const std::vector<int64_t>& key, bool class_pred) {
  const int64_t n = x.size(0), s = out_shape[2], sw = out_shape[3];
  // A kernel larger than the block on both sides is decoded from the whole block and upsampled bilinearly to its
  // size (as the reference does, after the channel crop and before the class head); larger on one side only has
  // no reference behaviour.
  const bool upsample = key[2] > s && key[3] > sw;
  TAL_REQUIRE(upsample || (key[2] <= s && key[3] <= sw), "ghn3 decoder: a ", key[2], "x", key[3],
              " kernel exceeds the decoded block side hypernet.spatial=", s,
              " on one side only (the reference upsamples only when both sides exceed it)");
  // The reference computes the whole [4d, S, S] grid and centre-crops the key's k x k window; we compute only
  // the window's rows of the first Linear (same values, a 1x1 key costs 4d outputs instead of 4d S^2).
  const int64_t off = s / 2;
  const int64_t y0 = std::max<int64_t>(0, off - key[2] / 2), y1 = std::min(s, off + (key[2] + 1) / 2);
  const int64_t x0 = std::max<int64_t>(0, off - key[3] / 2), x1 = std::min(sw, off + (key[3] + 1) / 2);
  const int64_t kh = y1 - y0, kw = x1 - x0;
  auto rows = (torch::arange(4 * dim, torch::kLong).view({-1, 1, 1}) * (s * sw) +
               torch::arange(y0, y1, torch::kLong).view({1, -1, 1}) * sw + torch::arange(x0, x1, torch::kLong).view({1, 1, -1}))
                  .flatten()
                  .to(x.device());
  const auto& first = fc[0]->as<nn::LinearImpl>()[0];
  auto h = torch::relu(torch::linear(x, first.weight.index_select(0, rows), first.bias.index_select(0, rows)))
               .view({n, 4 * dim, kh, kw});
  h = conv->forward(h.permute({0, 2, 3, 1})).permute({0, 3, 1, 2});
  h = h.reshape({n, out_shape[0], out_shape[1], kh, kw});
  h = h.slice(2, 0, key[1]).slice(3, 0, key[2]).slice(4, 0, key[3]);
  if (upsample) {
    const auto m0 = h.size(1), m1 = h.size(2);
    h = at::upsample_bilinear2d(h.reshape({n * m0, m1, kh, kw}), {key[2], key[3]}, /*align_corners=*/false)
            .view({n, m0, m1, key[2], key[3]});
  }
  if (class_pred) {
    const int64_t c = h.size(-1) / 2;
    auto centre = h.select(4, c).select(3, c);  // [n, M0, i']
    return class_layer_predictor->forward(centre.permute({0, 2, 1})).permute({0, 2, 1});  // [n, classes, i']
  }
  return h.slice(1, 0, key[0]);
}

LowRankDecoderImpl::LowRankDecoderImpl(int64_t dim, int64_t rank_, int64_t ck_, bool shared_bias_)
    : rank(rank_), ck(ck_), shared_bias(shared_bias_) {
  mlp = register_module("mlp", Mlp(dim, std::vector<int64_t>{4 * dim, 8 * dim, 2 * rank * rank}));
  l2 = register_module("l2", nn::Linear(rank, ck));
}

torch::Tensor LowRankDecoderImpl::factor_basis(const torch::Tensor& x) {
  return torch::relu(mlp->forward(x).view({-1, 2 * rank, rank}));
}

torch::Tensor LowRankDecoderImpl::factor_rows(const torch::Tensor& basis, int64_t first, int64_t count, bool b_side) {
  TAL_REQUIRE(first + count <= ck, "low-rank decoder: a target needs ", first + count,
              " factor rows (channels x kernel side) but hypernet.max_ck is ", ck);
  // Y = basis @ l2.W^T + l2.b is [n, 2r, ck]; the reference reads its memory as [n, 2ck, r]: A = rows [0, ck),
  // B^T = rows [ck, 2ck). Row j of that view is Y's flat range [j r, (j + 1) r).
  const int64_t start = ((b_side ? ck : 0) + first) * rank, len = count * rank;
  std::vector<torch::Tensor> pieces;
  for (int64_t pos = start; pos < start + len;) {
    const int64_t row = pos / ck, c0 = pos % ck, c1 = std::min(ck, c0 + (start + len - pos));
    const auto product = torch::mm(basis.select(1, row), l2->weight.slice(0, c0, c1).t());
    pieces.push_back(shared_bias ? product + l2->bias.slice(0, c0, c1) : product);
    pos += c1 - c0;
  }
  auto flat = pieces.size() == 1 ? pieces[0] : torch::cat(pieces, 1);
  return flat.view({basis.size(0), count, rank});
}

HypernetImpl::HypernetImpl(const HypernetConfig& c, int64_t n_channels, int64_t n_spatial) : cfg(c) {
  const int64_t d = cfg.hidden;
  embed = register_module("embed", embedding(15, d));
  shape_enc = register_module("shape_enc", ShapeEncoder(d, n_channels, n_spatial));
  gnn = nn::ModuleList();
  for (int64_t l = 0; l < cfg.layers; ++l)
    gnn->push_back(GraphormerLayer(d, cfg.heads, l == 0, cfg.film(), cfg.task_dim));
  register_module("gnn", gnn);
  ln = register_module("ln", nn::LayerNorm(nn::LayerNormOptions({d}).eps(1e-5)));
  if (cfg.film() && cfg.task_layer > 0)
    task_layer = register_module("task_layer", nn::Sequential(nn::Linear(cfg.task_dim, cfg.task_layer), nn::ReLU(),
                                                               nn::Linear(cfg.task_layer, cfg.task_dim)));
  if (cfg.low_rank()) {
    low_rank = register_module("decoder", LowRankDecoder(d, cfg.rank, cfg.max_ck, cfg.factor_bias));
    // Unused 1x1 placeholders the reference registers (they count in its published parameter totals).
    decoder_1d_placeholder = register_module("decoder_1d", nn::Sequential(nn::Linear(1, 1)));
    bias_class = register_module("bias_class", nn::Sequential(nn::ReLU(), nn::Linear(1, 1)));
  } else {
    tiled = register_module("decoder", TiledDecoder(d, cfg.max_shape4(), cfg.num_classes));
    const int64_t max_ch = cfg.max_shape;
    decoder_1d = register_module("decoder_1d", Mlp(d, std::vector<int64_t>{2 * d, 2 * max_ch}));
    {
      torch::NoGradGuard guard;
      auto last = decoder_1d->fc[2]->as<nn::Linear>();
      last->weight.div_(5.0);
      last->bias.zero_();
    }
    bias_class = register_module("bias_class", nn::Sequential(nn::ReLU(), nn::Linear(max_ch, cfg.num_classes)));
  }
  if (cfg.gated()) inherit_gate = register_parameter("inherit_gate", torch::zeros({15, 2}));
}

}  // namespace tal::modules
