// The GPT-2 family: HF's GPT2LMHeadModel with an untied lm_head (Conv1D weights stored [in, out], gelu_new,
// LayerNorm eps 1e-5), LoGAH's GPTs-1K zoo rules, its graph as LoGAH's Graph_LLM sees it, and HF's initialisation.
// With classes=k > 0 it is HF's GPT2ForSequenceClassification instead: no lm_head, a bias-free score [k, width]
// read at the last token before the first <|endoftext|> (the padding id), as HF pools with pad_token_id set.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "base/error.h"
#include "base/rng.h"
#include "hypernet/family.h"
#include "hypernet/graph_builder.h"
#include "hypernet/targets.h"
#include "hypernet/zoo.h"

namespace tal {
namespace {

constexpr int64_t kPad = 50256;  // <|endoftext|>

struct Gpt2 {
  int64_t depth, width, heads, mlp, vocab, context, classes;
  explicit Gpt2(const ArchSpec& s)
      : depth(s.at("depth")), width(s.at("width")), heads(s.at("heads")), mlp(s.at("mlp")), vocab(s.at("vocab")),
        context(s.at("context")), classes(s.at("classes")) {}
};

// 1 at the positions before a sequence's first <|endoftext|>, 0 from it on: [B, T] float.
at::Tensor text_mask(const at::Tensor& tokens) { return tokens.ne(kPad).to(at::kLong).cumprod(1).to(at::kFloat); }

std::string block(int64_t l) { return "transformer.h." + std::to_string(l) + "."; }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The final hidden states, [B, T, width].
at::Tensor hidden_states(const ArchSpec& s, const ParamMap& p, const at::Tensor& tokens, const BlockHooks* hooks) {
  static const BlockHooks identity;
  const BlockHooks& h = hooks ? *hooks : identity;
  const Gpt2 g(s);
  TAL_REQUIRE(tokens.dim() == 2 && tokens.scalar_type() == at::kLong && tokens.size(1) <= g.context,
              "tokens of shape ", shape_str(tokens.sizes().vec()), " do not fit ", s.str(),
              " (expected int64 [B, T] with T <= ", g.context, ")");
  auto at_ = [&](const std::string& name) -> const at::Tensor& { return param_at(s, p, name); };
  const int64_t t = tokens.size(1), c = g.width;
  constexpr double eps = 1e-5;  // HF layer_norm_epsilon

  auto positions = at::arange(t, tokens.options());
  auto x = at::embedding(at_("transformer.wte.weight"), tokens) + at::embedding(at_("transformer.wpe.weight"), positions);
  // HF Conv1D: y = x @ W + b with W stored [in, out].
  auto conv1d = [&](const at::Tensor& in, const std::string& name) {
    return at::matmul(in, at_(name + ".weight")) + at_(name + ".bias");
  };
  for (int64_t l = 0; l < g.depth; ++l) {
    const std::string pre = block(l);
    auto y = at::layer_norm(x, {c}, at_(pre + "ln_1.weight"), at_(pre + "ln_1.bias"), eps);
    auto qkv = h.qkv(l, y, conv1d(y, pre + "attn.c_attn")).chunk(3, -1);
    y = multi_head_attention(qkv[0], qkv[1], qkv[2], g.heads, /*causal=*/true);
    x = x + h.attention(l, h.projection(l, Projection::Out, y, conv1d(y, pre + "attn.c_proj")));
    x = h.residual(l, x);
    y = at::layer_norm(x, {c}, at_(pre + "ln_2.weight"), at_(pre + "ln_2.bias"), eps);
    y = at::gelu(h.projection(l, Projection::Fc1, y, conv1d(y, pre + "mlp.c_fc")), "tanh");  // HF "gelu_new"
    x = x + h.mlp(l, h.projection(l, Projection::Fc2, y, conv1d(y, pre + "mlp.c_proj")));
  }
  return at::layer_norm(x, {c}, at_("transformer.ln_f.weight"), at_("transformer.ln_f.bias"), eps);
}

class Gpt2Family final : public Family {
 public:
  std::string name() const override { return "gpt2"; }
  std::string reference_layout() const override {
    return "HF's GPT2LMHeadModel (untied lm_head), or GPT2ForSequenceClassification with classes > 0";
  }
  bool reads_text() const override { return true; }
  // The language-model head's rows are the vocabulary, the same for every GPT-2: it is selected like any tensor.
  bool is_classifier(const std::string& name) const override { return name.rfind("score.", 0) == 0; }
  bool is_layer_norm(const std::string& name) const override {  // every block's ln_1, ln_2; the final ln_f
    return name.rfind("transformer.ln_f.", 0) == 0 ||
           (name.rfind("transformer.h.", 0) == 0 &&
            (name.find(".ln_1.") != std::string::npos || name.find(".ln_2.") != std::string::npos));
  }
  std::string block_prefix(int64_t l) const override { return block(l); }
  std::string qkv_weight(int64_t l) const override { return block(l) + "attn.c_attn.weight"; }
  std::string projection_weight(int64_t l, Projection p) const override {
    return block(l) + (p == Projection::Out ? "attn.c_proj.weight" : p == Projection::Fc1 ? "mlp.c_fc.weight"
                                                                                          : "mlp.c_proj.weight");
  }
  bool weights_stored_in_by_out() const override { return true; }
  at::Tensor content_positions(const at::Tensor& tokens) const override { return text_mask(tokens); }
  bool is_shared_embedding(const std::string& name) const override {
    return name == "transformer.wte.weight" || name == "transformer.wpe.weight";
  }

  // HF's GPT2Config for GPT2LMHeadModel.from_pretrained: the sizes, gelu_new, eps 1e-5, and the head untied (the
  // hypernetwork predicts lm_head.weight apart from transformer.wte.weight).
  std::string library_config(const ArchSpec& s) const override {
    const Gpt2 g(s);
    auto n = [](int64_t v) { return std::to_string(v); };
    std::string head = "";
    if (g.classes > 0) {  // num_labels comes from id2label; the pooling needs pad_token_id
      head = "  \"pad_token_id\": 50256,\n  \"id2label\": {";
      for (int64_t k = 0; k < g.classes; ++k) head += (k ? ", \"" : "\"") + n(k) + "\": \"LABEL_" + n(k) + "\"";
      head += "},\n";
    }
    return "{\n  \"architectures\": [\"" + std::string(g.classes > 0 ? "GPT2ForSequenceClassification" : "GPT2LMHeadModel") +
           "\"],\n" + head + "  \"model_type\": \"gpt2\",\n  \"vocab_size\": " +
           n(g.vocab) + ",\n  \"n_positions\": " + n(g.context) + ",\n  \"n_ctx\": " + n(g.context) +
           ",\n  \"n_embd\": " + n(g.width) + ",\n  \"n_layer\": " + n(g.depth) + ",\n  \"n_head\": " + n(g.heads) +
           ",\n  \"n_inner\": " + n(g.mlp) +
           ",\n  \"activation_function\": \"gelu_new\",\n  \"layer_norm_epsilon\": 1e-05,\n"
           "  \"resid_pdrop\": 0.0,\n  \"embd_pdrop\": 0.0,\n  \"attn_pdrop\": 0.0,\n  \"initializer_range\": 0.02,\n"
           "  \"tie_word_embeddings\": false,\n  \"bos_token_id\": 50256,\n  \"eos_token_id\": 50256,\n"
           "  \"torch_dtype\": \"float32\"\n}\n";
  }

  const std::vector<SpecKey>& keys() const override {
    static const std::vector<SpecKey> k = {{"depth", 12, 256, "d"},        {"width", 768, 16384, "w"},
                                           {"heads", 12, 256, "h"},        {"mlp", 3072, 65536, "m"},
                                           {"vocab", 50257, 1000000, "v"}, {"context", 1024, 65536, "t"},
                                           {"classes", 0, 1000000, "k", 0}};
    return k;
  }

  void complete(ArchSpec& s, const std::vector<std::string>& given) const override {
    const auto has = [&](const char* k) { return std::find(given.begin(), given.end(), k) != given.end(); };
    if (has("width") && !has("mlp")) s.set("mlp", 4 * s.at("width"));
  }

  void validate(const ArchSpec& s) const override {
    const Gpt2 g(s);
    TAL_REQUIRE(g.width % g.heads == 0, "key 'heads': ", g.heads, " does not divide width ", g.width);
    TAL_REQUIRE(g.classes != 1, "key 'classes': 1 class is no classification (0 is the language-model head)");
  }

  ArchSpec defaults_for(const DataShape& data) const override {
    ArchSpec s = ArchSpec::defaults(*this);
    fit(s, data);
    return s;
  }

  void fit(ArchSpec& s, const DataShape& data) const override {
    if (data.vocab > 0) s.set("vocab", data.vocab);
    if (data.length > 0) s.set("context", data.length);
    if (data.vocab > 0) s.set("classes", data.classes);  // text data: its classes, or 0 for a language-model corpus
  }

  std::string mismatch(const ArchSpec& s, const DataShape& data) const override {
    const Gpt2 g(s);
    if ((data.vocab == 0 || g.vocab == data.vocab) && (data.length == 0 || g.context >= data.length) &&
        (data.vocab == 0 || g.classes == data.classes))
      return "";
    return "a " + std::to_string(data.vocab) + "-token vocabulary, sequences of " + std::to_string(data.length) + ", " +
           (data.classes > 0 ? std::to_string(data.classes) + " classes" : "a language-model head");
  }

  std::vector<ParamInfo> params(const ArchSpec& s) const override {
    const Gpt2 g(s);
    const int64_t c = g.width, m = g.mlp;
    std::vector<ParamInfo> t;
    t.push_back({"transformer.wte.weight", {g.vocab, c}});
    t.push_back({"transformer.wpe.weight", {g.context, c}});
    for (int64_t l = 0; l < g.depth; ++l) {
      const std::string p = block(l);
      t.push_back({p + "ln_1.weight", {c}});
      t.push_back({p + "ln_1.bias", {c}});
      t.push_back({p + "attn.c_attn.weight", {c, 3 * c}});
      t.push_back({p + "attn.c_attn.bias", {3 * c}});
      t.push_back({p + "attn.c_proj.weight", {c, c}});
      t.push_back({p + "attn.c_proj.bias", {c}});
      t.push_back({p + "ln_2.weight", {c}});
      t.push_back({p + "ln_2.bias", {c}});
      t.push_back({p + "mlp.c_fc.weight", {c, m}});
      t.push_back({p + "mlp.c_fc.bias", {m}});
      t.push_back({p + "mlp.c_proj.weight", {m, c}});
      t.push_back({p + "mlp.c_proj.bias", {c}});
    }
    t.push_back({"transformer.ln_f.weight", {c}});
    t.push_back({"transformer.ln_f.bias", {c}});
    if (g.classes > 0)
      t.push_back({"score.weight", {g.classes, c}});
    else
      t.push_back({"lm_head.weight", {g.vocab, c}});
    return t;
  }

  // wte and wpe are pos_enc nodes joined by a sum; Conv1D weights are conv nodes whose shape is the stored
  // [in, out] tensor; final ln_f and lm_head.
  Graph graph(const ArchSpec& s, int cutoff) const override {
    const Gpt2 g2(s);
    GraphBuilder g(s);
    const int input = g.topo(Op::Input, "input");
    const int wte = g.param(Op::PosEnc, "transformer.wte.weight");
    const int wpe = g.param(Op::PosEnc, "transformer.wpe.weight");
    int x = g.topo(Op::Sum, "AddBackward0");
    g.chain({input, wte, x});
    g.edge(wpe, x);
    for (int64_t l = 0; l < g2.depth; ++l) {
      const std::string p = block(l);
      x = g.transformer_block(x, p + "ln_1.", p + "attn.c_attn.weight", p + "attn.c_attn.bias", p + "attn.c_proj.",
                              p + "ln_2.", p + "mlp.c_fc.", p + "mlp.c_proj.");
    }
    const int ln = g.layer_norm("transformer.ln_f.");
    g.chain({x, ln, g.param(Op::Conv, g2.classes > 0 ? "score.weight" : "lm_head.weight")});
    return g.finish(cutoff);
  }

  // Embeddings are left as decoded; residual projections get GPT-2's 1/sqrt(2 n_layer) on top of fan-in scaling.
  PredictedScaling scaling(const ArchSpec& s, const std::string& name) const override {
    if (name == "transformer.wte.weight" || name == "transformer.wpe.weight") return {true, 1.0};
    if (ends_with(name, "c_proj.weight")) return {false, std::sqrt(2.0 * static_cast<double>(s.at("depth")))};
    return {};
  }

  std::vector<std::string> zoo_rules() const override { return {"gpts-1k"}; }

  ArchSpec sample(const ZooRules& r, SplitMix& rng) const override {
    const bool small = r.profile == "cpu-small";
    ArchSpec s = ArchSpec::defaults(*this);
    fit(s, r.data);
    s.set("heads", 8);  // every width below is a multiple of 8, so LoGAH's 6- and 4-head branches never fire
    // Models above 50M parameters are rejected and redrawn, as in GPTs-1K.
    for (int attempt = 0; attempt < 1000; ++attempt) {
      int64_t depth = 0, width = 0;
      if (small) {
        depth = rng.uniform(2, 4);
        width = rng.pick(int_range(32, 96, 16));
      } else {
        depth = rng.uniform(3, 9);
        width = rng.pick(depth > 5 ? int_range(72, 176, 8) : depth >= 4 ? int_range(128, 176, 8) : int_range(176, 256, 8));
      }
      s.set("depth", depth);
      s.set("width", width);
      s.set("mlp", 4 * width);
      if (count_params(s, false) <= 50'000'000) return s;
    }
    TAL_REQUIRE(false, "zoo: gpts-1k could not draw a model under 50M parameters with vocab ", s.at("vocab"));
    return s;
  }

  // tokens [B, T] -> next-token logits [B, T, vocab], or class logits [B, classes] with classes > 0.
  at::Tensor forward(const ArchSpec& s, const ParamMap& p, const at::Tensor& tokens,
                     const BlockHooks* hooks) const override {
    const auto h = hidden_states(s, p, tokens, hooks);
    if (s.at("classes") == 0) return at::matmul(h, param_at(s, p, "lm_head.weight").t());
    // The last token before the first <|endoftext|> (the last one when there is none).
    const auto last = (text_mask(tokens).sum(1).to(at::kLong) - 1).clamp_min(0);
    const auto pooled = h.gather(1, last.view({-1, 1, 1}).expand({h.size(0), 1, h.size(2)})).squeeze(1);
    return at::matmul(pooled, param_at(s, p, "score.weight").t());
  }

  // The mean final hidden state over the text (the positions before its first <|endoftext|>), [B, width].
  at::Tensor features(const ArchSpec& s, const ParamMap& p, const at::Tensor& tokens,
                      const BlockHooks* hooks) const override {
    const auto h = hidden_states(s, p, tokens, hooks);
    const auto mask = text_mask(tokens).to(h.scalar_type());
    return (h * mask.unsqueeze(2)).sum(1) / mask.sum(1, true).clamp_min(1);
  }

  // HF GPT-2's initialisation: N(0, 0.02) weights, residual projections scaled by 1/sqrt(2 n_layer).
  ParamMap init(const ArchSpec& spec, uint64_t seed) const override {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const double depth = static_cast<double>(spec.at("depth"));
    ParamMap out;
    for (const auto& info : params(spec)) {
      const auto& n = info.name;
      auto t = at::zeros(info.shape, at::kFloat);
      if (n.find("ln_") != std::string::npos && ends_with(n, ".weight")) {
        t.fill_(1.0);
      } else if (ends_with(n, ".weight")) {
        t.normal_(0, ends_with(n, "c_proj.weight") ? 0.02 / std::sqrt(2.0 * depth) : 0.02, gen);
      }
      out.emplace(n, t);
    }
    return out;
  }

  // Classification: cross-entropy per text. Causal LM: position t predicts token t + 1; one value per sequence (the
  // mean over its positions).
  at::Tensor loss(const at::Tensor& logits, const at::Tensor& tokens, double smoothing) const override {
    if (logits.dim() == 2) return per_example_cross_entropy(logits, tokens, smoothing);
    const int64_t b = logits.size(0), t = logits.size(1);
    const auto pred = logits.narrow(1, 0, t - 1).reshape({b * (t - 1), -1});
    const auto next = tokens.narrow(1, 1, t - 1).reshape({-1});
    return per_example_cross_entropy(pred, next, smoothing).view({b, t - 1}).mean(1);
  }

  at::Tensor distillation(const at::Tensor& student, const at::Tensor& teacher, double temperature) const override {
    const auto kl = per_example_distillation(student, teacher, temperature);
    return student.dim() == 2 ? kl : kl.mean(1);
  }

  ForwardCost forward_cost(const ArchSpec& s) const override {
    const Gpt2 g(s);
    const double t = static_cast<double>(g.context), w = static_cast<double>(g.width), m = static_cast<double>(g.mlp);
    const double h = static_cast<double>(g.heads), depth = static_cast<double>(g.depth);
    const double layer = 2 * t * w * 3 * w + 4 * t * t * w + 2 * t * w * w + 4 * t * w * m + 20 * t * w;
    const double head = g.classes > 0 ? 2 * w * static_cast<double>(g.classes) : 2 * t * w * static_cast<double>(g.vocab);
    return {depth * layer + head,
            depth * (20 * t * w + 4 * t * m + 4 * t * t * h) + 4 * t * static_cast<double>(g.vocab)};
  }

  int64_t taskless_classes() const override { return 0; }

  int64_t outputs_per_example(const ArchSpec& s) const override {
    const Gpt2 g(s);
    return g.classes > 0 ? g.classes : g.context * g.vocab;
  }

  // Classification: [B]; a language model: next-token top-1 correctness at every position, [B, T - 1].
  at::Tensor correct(const at::Tensor& logits, const at::Tensor& tokens) const override {
    if (logits.dim() == 2) return logits.argmax(-1).eq(tokens);
    const int64_t t = logits.size(1);
    return logits.narrow(1, 0, t - 1).argmax(-1).eq(tokens.narrow(1, 1, t - 1));
  }
};

}  // namespace

const Family& gpt2_family() {
  static const Gpt2Family family;
  return family;
}

}  // namespace tal
