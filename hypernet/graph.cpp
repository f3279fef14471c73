#include "hypernet/graph.h"

#include <cmath>
#include <deque>

#include "hypernet/error.h"

namespace tal {
namespace {

constexpr std::array<int64_t, 4> kNoShape = {-1, -1, -1, -1};

// The shape encoder's 4-D view of a tensor: 1-D [n] -> (n,1,1,1), 2-D [o,i] -> (o,i,1,1), 4-D unchanged.
std::array<int64_t, 4> as4d(const std::vector<int64_t>& s) {
  if (s.size() == 1) return {s[0], 1, 1, 1};
  if (s.size() == 2) return {s[0], s[1], 1, 1};
  TAL_ASSERT(s.size() == 4, "unexpected rank ", s.size());
  return {s[0], s[1], s[2], s[3]};
}

class Builder {
 public:
  explicit Builder(const ArchSpec& spec) : shapes_(), graph_() {
    graph_.spec = spec;
    for (const auto& p : param_table(spec)) shapes_.emplace_back(p.name, p.shape);
  }

  const std::vector<int64_t>& shape_of(const std::string& name) const {
    for (const auto& [n, s] : shapes_)
      if (n == name) return s;
    TAL_ASSERT(false, "no parameter ", name);
  }

  int topo(Op op, const std::string& label) { return add({op, kNoShape, "", "", label}); }
  int param(Op op, const std::string& name) { return add({op, as4d(shape_of(name)), name, "", name}); }
  int layer_norm(const std::string& prefix) {
    return add({Op::Ln, as4d(shape_of(prefix + "weight")), prefix + "weight", prefix + "bias", prefix + "weight"});
  }
  // pos_enc [1, T, C] is seen as (1, C, s, s) with s = floor(sqrt(T)) (T includes the class token).
  int vit_pos_enc(const std::string& name) {
    const auto& s = shape_of(name);
    const auto side = static_cast<int64_t>(std::floor(std::sqrt(static_cast<double>(s[1]))));
    return add({Op::PosEnc, {1, s[2], side, side}, name, "", name});
  }
  void edge(int a, int b) { graph_.edges.emplace_back(a, b); }
  // a -> b -> c ...; returns the last node.
  int chain(std::initializer_list<int> ids) {
    int prev = -1;
    for (int id : ids) {
      if (prev >= 0) edge(prev, id);
      prev = id;
    }
    return prev;
  }

  // One pre-LN transformer block: ln_1 -> qkv w -> qkv b -> msa -> out w -> out b -> sum (+ skip from `in`),
  // then ln_2 -> fc1 w -> fc1 b -> fc2 w -> fc2 b -> sum (+ skip). Returns the block's last sum.
  int block(int in, const std::string& ln1, const std::string& qkv, const std::string& qkv_bias,
            const std::string& out, const std::string& ln2, const std::string& fc1, const std::string& fc2,
            const std::string& bias_suffix) {
    const int a = layer_norm(ln1);
    const int qw = param(Op::Conv, qkv), qb = param(Op::Bias, qkv_bias);
    const int sm = topo(Op::Msa, "SoftmaxBackward0");
    const int ow = param(Op::Conv, out + "weight"), ob = param(Op::Bias, out + bias_suffix);
    const int s1 = topo(Op::Sum, "AddBackward0");
    chain({in, a, qw, qb, sm, ow, ob, s1});
    edge(in, s1);
    const int b = layer_norm(ln2);
    const int f1w = param(Op::Conv, fc1 + "weight"), f1b = param(Op::Bias, fc1 + bias_suffix);
    const int f2w = param(Op::Conv, fc2 + "weight"), f2b = param(Op::Bias, fc2 + bias_suffix);
    const int s2 = topo(Op::Sum, "AddBackward0");
    chain({s1, b, f1w, f1b, f2w, f2b, s2});
    edge(s1, s2);
    return s2;
  }

  Graph finish(int cutoff) {
    const int n = static_cast<int>(graph_.nodes.size());
    std::vector<std::vector<int>> out(n);
    for (auto [a, b] : graph_.edges) {
      TAL_ASSERT(a < b, "nodes must be in topological order");
      out[a].push_back(b);
    }
    graph_.distances = at::zeros({n, n}, at::kByte);
    auto* d = graph_.distances.data_ptr<uint8_t>();
    std::vector<int> dist(n);
    std::deque<int> queue;
    for (int src = 0; src < n; ++src) {
      std::fill(dist.begin(), dist.end(), -1);
      dist[src] = 0;
      queue.assign(1, src);
      while (!queue.empty()) {
        const int u = queue.front();
        queue.pop_front();
        if (dist[u] >= cutoff) continue;
        for (int v : out[u])
          if (dist[v] < 0) {
            dist[v] = dist[u] + 1;
            d[src * n + v] = static_cast<uint8_t>(dist[v]);
            queue.push_back(v);
          }
      }
    }
    return std::move(graph_);
  }

 private:
  int add(GraphNode node) {
    graph_.nodes.push_back(std::move(node));
    return static_cast<int>(graph_.nodes.size()) - 1;
  }

  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes_;
  Graph graph_;
};

Graph build_vit(const ArchSpec& s, int cutoff) {
  Builder g(s);
  const int input = g.topo(Op::Input, "input");
  const int cw = g.param(Op::Conv, "conv_proj.weight"), cb = g.param(Op::Bias, "conv_proj.bias");
  const int pos = g.vit_pos_enc("encoder.pos_embedding");
  int x = g.topo(Op::Sum, "AddBackward0");
  g.chain({input, cw, cb, x});
  g.edge(pos, x);  // pos_enc has no incoming edge, as in the reference tracer
  for (int64_t l = 0; l < s.depth; ++l) {
    const std::string p = "encoder.layers.encoder_layer_" + std::to_string(l) + ".";
    x = g.block(x, p + "ln_1.", p + "self_attention.in_proj_weight", p + "self_attention.in_proj_bias",
                p + "self_attention.out_proj.", p + "ln_2.", p + "mlp.0.", p + "mlp.3.", "bias");
  }
  // The reference recognises the classifier by position: its weight and bias must be the last two nodes.
  const int ln = g.layer_norm("encoder.ln.");
  g.chain({x, ln, g.param(Op::Conv, "heads.head.weight"), g.param(Op::Bias, "heads.head.bias")});
  return g.finish(cutoff);
}

// GPT-2 as LoGAH's Graph_LLM sees it (untied head): wte and wpe are pos_enc nodes joined by a sum, HF Conv1D
// weights are conv nodes whose shape is the stored [in, out] tensor, final ln_f and lm_head.
Graph build_gpt2(const ArchSpec& s, int cutoff) {
  Builder g(s);
  const int input = g.topo(Op::Input, "input");
  const int wte = g.param(Op::PosEnc, "transformer.wte.weight");
  const int wpe = g.param(Op::PosEnc, "transformer.wpe.weight");
  int x = g.topo(Op::Sum, "AddBackward0");
  g.chain({input, wte, x});
  g.edge(wpe, x);
  for (int64_t l = 0; l < s.depth; ++l) {
    const std::string p = "transformer.h." + std::to_string(l) + ".";
    x = g.block(x, p + "ln_1.", p + "attn.c_attn.weight", p + "attn.c_attn.bias", p + "attn.c_proj.",
                p + "ln_2.", p + "mlp.c_fc.", p + "mlp.c_proj.", "bias");
  }
  const int ln = g.layer_norm("transformer.ln_f.");
  g.chain({x, ln, g.param(Op::Conv, "lm_head.weight")});
  return g.finish(cutoff);
}

}  // namespace

const char* op_name(Op op) {
  static const char* names[kNumOps] = {"max_pool", "avg_pool", "sep_conv", "dil_conv", "conv",
                                       "msa",      "cse",      "sum",      "concat",   "input",
                                       "bias",     "bn",       "ln",       "pos_enc",  "glob_avg"};
  return names[static_cast<int64_t>(op)];
}

Graph build_graph(const ArchSpec& spec, int cutoff) {
  TAL_REQUIRE(cutoff >= 1 && cutoff <= 255, "virtual-edge cutoff must be in 1..255, got ", cutoff);
  spec.validate();
  return spec.family == Family::Vit ? build_vit(spec, cutoff) : build_gpt2(spec, cutoff);
}

}  // namespace tal
