#include "hypernet/hypernet.h"

#include <ATen/CPUGeneratorImpl.h>

#include <functional>
#include <map>
#include <unordered_map>

#include "base/error.h"
#include "base/hash.h"
#include "hypernet/modules.h"
#include "hypernet/param_binding.h"
#include "hypernet/shape_vocab.h"
#include "hypernet/weight_selection.h"

namespace tal {
namespace {

using modules::GraphormerLayerImpl;

// Fresh module initialisation draws from the global generator; keep the caller's stream untouched.
struct SeededGlobalGenerator {
  explicit SeededGlobalGenerator(uint64_t seed) : gen(at::detail::getDefaultCPUGenerator()), state(gen.get_state()) {
    gen.set_current_seed(seed);
  }
  ~SeededGlobalGenerator() { gen.set_state(state); }
  at::Generator gen;
  at::Tensor state;
};

uint64_t spec_seed(const ArchSpec& spec) { return stable_hash(spec.str()); }

struct Member {
  int64_t graph;
  const NodeBinding* binding;
};

// One decoded block per member of a group; `block(i)` is what tile_to() receives for member i and tensor t.
struct GroupOutput {
  std::function<at::Tensor(size_t member, const PredictedTensor& t)> block;
};

int64_t max_needed(const std::vector<Member>& members, size_t dim, int64_t key_dim) {
  int64_t m = 1;
  for (const auto& mem : members)
    for (const auto& t : mem.binding->tensors) m = std::max(m, std::min(t.shape[dim], key_dim));
  return m;
}

GroupOutput decode_tiled(modules::HypernetImpl& net, const DecodeKey& key, const at::Tensor& x) {
  switch (key.kind) {
    case KeyKind::Vector:
    case KeyKind::ClassifierBias: {
      auto w = net.decoder_1d->forward(x).view({x.size(0), 2, -1});
      if (key.kind == KeyKind::ClassifierBias) w = net.bias_class->forward(w);
      return {[w](size_t i, const PredictedTensor& t) { return w[static_cast<int64_t>(i)][t.row]; }};
    }
    case KeyKind::ClassifierWeight: {
      auto w = net.tiled->forward(x, {key.dims[0], key.dims[1], 1, 1}, /*class_pred=*/true);
      return {[w](size_t i, const PredictedTensor&) { return w[static_cast<int64_t>(i)]; }};
    }
    default: {
      auto w = net.tiled->forward(x, key.dims, /*class_pred=*/false);
      return {[w](size_t i, const PredictedTensor&) { return w[static_cast<int64_t>(i)]; }};
    }
  }
}

// `basis`: the decoder's factor_basis() rows of this group's nodes.
GroupOutput decode_low_rank(modules::HypernetImpl& net, const DecodeKey& key, const at::Tensor& basis,
                            const std::vector<Member>& members) {
  auto& dec = *net.low_rank;
  const int64_t n = basis.size(0);
  // W = A[:rows] · B[:, :cols] with B = (B^T rows)^T.
  auto product = [&](int64_t a_first, int64_t rows, int64_t cols) {
    return at::bmm(dec.factor_rows(basis, a_first, rows, false), dec.factor_rows(basis, 0, cols, true).transpose(1, 2));
  };
  const auto& k = key.dims;
  switch (key.kind) {
    case KeyKind::Vector:
    case KeyKind::ClassifierBias: {
      // The reference asks for a (2n, 1) matrix and splits it: weight rows [0, n), bias rows [n, 2n), n the key.
      const int64_t m = max_needed(members, 0, k[0]);
      auto weight_rows = product(0, m, 1).view({n, m});
      auto bias_rows = product(k[0], m, 1).view({n, m});
      return {[weight_rows, bias_rows](size_t i, const PredictedTensor& t) {
        return (t.row == 0 ? weight_rows : bias_rows)[static_cast<int64_t>(i)];
      }};
    }
    case KeyKind::ClassifierWeight:
    case KeyKind::Matrix: {
      auto w = product(0, max_needed(members, 0, k[0]), max_needed(members, 1, k[1]));
      return {[w](size_t i, const PredictedTensor&) { return w[static_cast<int64_t>(i)]; }};
    }
    case KeyKind::Conv: {
      const int64_t o = max_needed(members, 0, k[0]), in = max_needed(members, 1, k[1]);
      auto w = product(0, o * k[2], in * k[3]).view({n, o, k[2], in, k[3]}).transpose(2, 3);
      return {[w](size_t i, const PredictedTensor&) { return w[static_cast<int64_t>(i)]; }};
    }
    case KeyKind::PosEnc: {
      // (1, C, s, s): A rows [0, s), B columns [0, C s) -> [1, C, s, s].
      auto w = product(0, k[2], k[1] * k[3]).view({n, 1, k[2], k[1], k[3]}).transpose(2, 3);
      return {[w](size_t i, const PredictedTensor&) { return w[static_cast<int64_t>(i)]; }};
    }
  }
  TAL_ASSERT(false, "unhandled key kind");
}

}  // namespace

struct Hypernet::Base {
  ArchSpec spec;
  ParamMap params;
  std::string hash;
};

Hypernet::Hypernet(const HypernetConfig& config, uint64_t seed) {
  config.validate();
  vocab_ = std::make_unique<ShapeVocab>(config.num_classes, config.spatial);
  SeededGlobalGenerator seeded(seed);
  impl_ = std::make_shared<modules::HypernetImpl>(config, static_cast<int64_t>(vocab_->channels().size()),
                                                  static_cast<int64_t>(vocab_->spatial().size()));
}

Hypernet::~Hypernet() = default;
Hypernet::Hypernet(Hypernet&&) noexcept = default;

const HypernetConfig& Hypernet::config() const { return impl_->cfg; }

void Hypernet::set_base(const ArchSpec& spec, const ParamMap& params, const std::string& content_hash) {
  TAL_REQUIRE(impl_->cfg.inherits(), "set_base: only a hypernet.base=ancestry hypernetwork starts from an ancestry");
  auto base = std::make_shared<Base>();
  base->spec = spec;
  base->hash = content_hash;
  const auto device = impl_->embed->weight.device();
  for (const auto& [name, t] : params) base->params[name] = t.detach().to(device, at::kFloat);
  base_ = std::move(base);
}

const std::string& Hypernet::base_hash() const {
  static const std::string none;
  return base_ ? base_->hash : none;
}

at::Tensor Hypernet::encode(const GraphBatch& batch, const at::Tensor& task, EncoderTrace* trace) {
  auto& m = *impl_;
  const auto& cfg = m.cfg;
  const auto device = m.embed->weight.device();
  const auto si = vocab_->indices(batch).to(device);
  const auto ops = batch.ops.to(device), dist = batch.distances.to(device);
  const auto node_mask = batch.mask.to(device);
  const auto pair_mask = node_mask.unsqueeze(2).logical_and(node_mask.unsqueeze(1));

  auto x = m.embed->forward(ops) + at::cat({m.shape_enc->embed_channel->forward(si.select(2, 0)),
                                            m.shape_enc->embed_channel->forward(si.select(2, 1)),
                                            m.shape_enc->embed_spatial->forward(si.select(2, 2)),
                                            m.shape_enc->embed_spatial->forward(si.select(2, 3))},
                                           -1);
  if (trace) {
    trace->shape_ind = si;
    trace->x0 = x.detach().clone();
  }
  at::Tensor e;
  if (cfg.film()) {
    TAL_REQUIRE(task.defined(), "the tal hypernetwork needs a task embedding");
    TAL_REQUIRE(task.size(-1) == cfg.task_dim && task.dim() <= 2, "task embedding of shape ",
                shape_str(task.sizes().vec()), " does not match hypernet.task_dim ", cfg.task_dim);
    e = task.to(device, m.embed->weight.scalar_type());
    if (m.task_layer) e = m.task_layer->forward(e);
  }
  at::Tensor edge_bias;
  std::vector<at::Tensor> layers, gammas, betas;
  for (size_t l = 0; l < m.gnn->size(); ++l) {
    auto& layer = m.gnn[l]->as<GraphormerLayerImpl>()[0];
    if (layer.first) {
      // Structure enters once: in/out degree (real edges only) and distance from the input node.
      const auto one_hop = dist.eq(1).to(at::kLong);
      x = x + layer.centrality_embed_in->forward(one_hop.sum(1).clamp(0, 100));
      x = x + layer.centrality_embed_out->forward(one_hop.sum(2).clamp(0, 100));
      x = x + layer.input_dist_embed->forward(dist.select(1, 0).clamp(0, 1000));
      x = x * node_mask.unsqueeze(-1).to(x.dtype());
      // Forward and backward distance (+2, so "no path" has its own row) -> one attention bias per head.
      // proj_e's first Linear on [E(fwd), E(bwd)] equals E(fwd) W1^T + E(bwd) W2^T: fold it into the two
      // 257-row tables once instead of multiplying every node pair (N^2 x 2d x d).
      const auto& first = layer.attn->proj_e[0]->as<torch::nn::LinearImpl>()[0];
      const auto table = layer.attn->edge_embed->embed->weight;
      const int64_t d = table.size(1);
      const auto fwd_table = at::matmul(table, first.weight.narrow(1, 0, d).t());
      const auto bwd_table = at::matmul(table, first.weight.narrow(1, d, d).t());
      auto h = at::embedding(fwd_table, dist + 2) + at::embedding(bwd_table, dist.transpose(1, 2) + 2) + first.bias;
      edge_bias = layer.attn->proj_e[2]->as<torch::nn::LinearImpl>()->forward(at::relu(h));
    }
    auto y = layer.ln1->forward(x);
    if (cfg.film()) {
      auto gamma = layer.film->fc_gamma->forward(e), beta = layer.film->fc_beta->forward(e);
      if (trace) {
        gammas.push_back(gamma.detach());
        betas.push_back(beta.detach());
      }
      if (gamma.dim() == 2) {
        gamma = gamma.unsqueeze(1);
        beta = beta.unsqueeze(1);
      }
      y = (gamma + 1) * y + beta;
    }
    x = x + layer.attn->forward(y, edge_bias, pair_mask);
    x = x + layer.ff->net->forward(layer.ln2->forward(x));
    if (trace) layers.push_back(x.detach());
  }
  x = m.ln->forward(x);
  if (trace) {
    trace->edge_bias = edge_bias.detach();
    trace->x_layers = at::stack(layers);
    trace->x_enc = x.detach();
    if (!gammas.empty()) {
      trace->film_gamma = at::stack(gammas);
      trace->film_beta = at::stack(betas);
    }
  }
  return x;
}

std::vector<ParamMap> Hypernet::predict(const std::vector<const Graph*>& graphs, const at::Tensor& task,
                                        const PredictOptions& options) {
  TAL_REQUIRE(options.class_row_seeds.empty() || options.class_row_seeds.size() == graphs.size(),
              "predict: ", options.class_row_seeds.size(), " class-row seeds for ", graphs.size(), " graphs");
  const auto batch = batch_graphs(graphs);
  const auto x = encode(batch, task);
  const int64_t n_max = batch.max_nodes();
  const auto flat = x.reshape({-1, x.size(-1)});

  std::vector<std::vector<NodeBinding>> bindings;
  std::map<DecodeKey, std::vector<Member>> groups;
  for (size_t b = 0; b < graphs.size(); ++b) bindings.push_back(bind_nodes(*graphs[b], impl_->cfg.max_shape4()));
  for (size_t b = 0; b < graphs.size(); ++b)
    for (const auto& nb : bindings[b]) groups[nb.key].push_back({static_cast<int64_t>(b), &nb});

  // Rows of every parameter node, group after group, so the decoder's shared MLP runs once over all of them
  // (its last layer is the largest tensor of the hypernetwork: one pass reads it once).
  std::vector<int64_t> rows;
  for (const auto& [key, members] : groups)
    for (const auto& mem : members) rows.push_back(mem.graph * n_max + mem.binding->node);
  const auto xs_all = flat.index_select(0, at::tensor(rows, at::kLong).to(flat.device()));
  const auto basis_all = impl_->cfg.low_rank() ? impl_->low_rank->factor_basis(xs_all) : at::Tensor();

  const bool inherit = impl_->cfg.gated();
  TAL_REQUIRE(!impl_->cfg.inherits() || base_, "predict: an inheriting hypernetwork (hypernet.base=ancestry) needs its "
              "ancestry model (set_base) before it predicts");
  // The base of a residual prediction: the ancestry's weight-selected tensor of `t` for graph b (undefined where it
  // has none), or the family's initialisation of the graph's architecture, seeded by its spec.
  std::vector<std::unordered_map<std::string, ParamInfo>> tables(graphs.size());
  std::vector<ParamMap> inits(graphs.size());
  if (inherit)
    for (size_t b = 0; b < graphs.size(); ++b) {
      for (auto& info : param_table(graphs[b]->spec)) tables[b].emplace(info.name, std::move(info));
      if (!impl_->cfg.inherits()) {
        inits[b] = init_params(graphs[b]->spec, spec_seed(graphs[b]->spec));
        for (auto& [name, t] : inits[b]) t = t.detach().to(flat.device());
      }
    }
  auto inherited = [&](size_t b, const std::string& name) {
    if (!impl_->cfg.inherits()) return inits[b].at(name);
    return select_tensor(base_->spec, base_->params, graphs[b]->spec, tables[b].at(name));
  };

  std::vector<ParamMap> out(graphs.size());
  int64_t offset = 0;
  for (const auto& [key, members] : groups) {
    const auto n = static_cast<int64_t>(members.size());
    const GroupOutput decoded = impl_->cfg.low_rank()
                                    ? decode_low_rank(*impl_, key, basis_all.narrow(0, offset, n), members)
                                    : decode_tiled(*impl_, key, xs_all.narrow(0, offset, n));
    offset += n;
    for (size_t i = 0; i < members.size(); ++i) {
      const auto b = static_cast<size_t>(members[i].graph);
      const ArchSpec& spec = graphs[b]->spec;
      for (const auto& t : members[i].binding->tensors) {
        const auto block = decoded.block(i, t);
        at::Tensor class_row;
        if (key.kind == KeyKind::PosEnc) {
          const uint64_t seed = options.class_row_seeds.empty() ? spec_seed(spec) : options.class_row_seeds[b];
          auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
          class_row = at::normal(0.0, 0.02, {1, 1, std::min(t.shape[2], block.size(1))}, gen).to(block.device());
        }
        auto predicted = normalize_predicted(spec, t, tile_to(block, t.shape, class_row));
        if (inherit) {
          if (const auto source = inherited(b, t.name); source.defined()) {
            // The correction is the decoder's output minus its value at a zero decoding (1 for a 1-D weight's
            // 2 sigmoid(p/2), 0 elsewhere), gated per (op, weight/bias): at gate 0 the sum is the source, exactly.
            const bool unit_at_zero = t.shape.size() == 1 && t.is_weight;
            const auto op = static_cast<int64_t>(graphs[b]->nodes[static_cast<size_t>(members[i].binding->node)].op);
            const auto gate = impl_->inherit_gate[op][t.is_weight ? 0 : 1];
            predicted = source + gate * (unit_at_zero ? predicted - 1.0 : predicted);
          }
        }
        out[b][t.name] = predicted;
      }
    }
  }
  // The selected tensors no node predicts (ViT's class token): an inheriting descendant starts with all of them.
  if (inherit)
    for (size_t b = 0; b < graphs.size(); ++b)
      for (const auto& [name, info] : tables[b])
        if (!out[b].count(name))
          if (const auto source = inherited(b, name); source.defined()) out[b][name] = source;
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> Hypernet::named_parameters() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& item : impl_->named_parameters(true)) out.emplace_back(item.key(), item.value());
  return out;
}

std::vector<at::Tensor> Hypernet::parameters() const { return impl_->parameters(true); }

int64_t Hypernet::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : impl_->parameters(true)) n += p.numel();
  return n;
}

std::vector<std::pair<std::string, int64_t>> Hypernet::parameter_counts() const {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& child : impl_->named_children()) {
    int64_t n = 0;
    for (const auto& p : child.value()->parameters(true)) n += p.numel();
    out.emplace_back(child.key(), n);
  }
  return out;
}

void Hypernet::load(const std::function<at::Tensor(const std::string&)>& lookup) {
  at::NoGradGuard guard;
  for (auto& [name, p] : named_parameters()) {
    const auto t = lookup(name);
    TAL_REQUIRE(t.defined(), "hypernet parameter '", name, "' missing");
    TAL_REQUIRE(t.sizes() == p.sizes(), "hypernet parameter '", name, "' has shape ", shape_str(t.sizes().vec()),
                ", expected ", shape_str(p.sizes().vec()));
    p.copy_(t);
  }
}

void Hypernet::train(bool on) { impl_->train(on); }
void Hypernet::to(at::Device device) {
  impl_->to(device);
  if (base_)
    for (auto& [name, t] : base_->params) t = t.to(device);
}
void Hypernet::to(at::ScalarType dtype) { impl_->to(dtype); }

double predict_flops(const HypernetConfig& c, const Graph& graph) {
  const double n = static_cast<double>(graph.size()), d = static_cast<double>(c.hidden);
  // Encoder: per layer the qkv, output and feed-forward projections per node, attention over node pairs; the first
  // layer turns every pair's distances into per-head biases.
  double flops = static_cast<double>(c.layers) * (n * (6 * d * d + 2 * d * d + 16 * d * d) + 4 * n * n * d) +
                 n * n * 2 * d * static_cast<double>(c.heads);
  const auto bindings = bind_nodes(graph, c.max_shape4());
  const double r = static_cast<double>(c.rank);
  for (const auto& b : bindings) {
    if (c.low_rank()) {
      flops += 2 * d * 4 * d + 2 * 4 * d * 8 * d + 2 * 8 * d * 2 * r * r;  // the shared MLP, per node
      for (const auto& t : b.tensors) {
        double numel = 1;
        for (auto v : t.shape) numel *= static_cast<double>(v);
        flops += 2 * r * numel + 2 * r * r * (static_cast<double>(t.shape[0]) + numel / static_cast<double>(t.shape[0]));
      }
    } else {
      const double k = b.key.dims.size() > 2 ? static_cast<double>(b.key.dims[2] * b.key.dims[3]) : 1.0;
      const double block = static_cast<double>(c.max_shape) * static_cast<double>(c.max_shape);
      flops += k * (2 * d * 4 * d + 2 * 4 * d * 8 * d + 2 * 8 * d * block);
    }
  }
  return flops;
}

at::Tensor predicted_norm_sum(const ParamMap& params) {
  std::map<std::string, at::Tensor> sorted(params.begin(), params.end());  // fixed order: reproducible sums
  std::vector<at::Tensor> norms;
  for (const auto& [name, t] : sorted) norms.push_back(t.norm());
  return at::stack(norms).sum();
}

}  // namespace tal
