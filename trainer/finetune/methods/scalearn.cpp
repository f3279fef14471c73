// scalearn (seed 004: Frohmann et al., "ScaLearn: Simple and Highly Parameter-Efficient Task Transfer by Learning to
// Scale", Findings of ACL 2024): the host and one single-task Pfeiffer adapter per source task (the target's own
// among them, trained by the grid's `adapter` runs on the same host) are frozen, and only scales ω of the adapters'
// outputs are learned, with the head. In every block, with u the MLP output and up_k adapter k's output before its
// residual:
//   x <- x + (u + Σ_k ω_{l,k} ⊙ up_k(u))
// no softmax, no sum to one (the paper's ablations). Variants (keys omega and layers):
//   omega=channel, layers=each     ScaLearn            ω_l ∈ R^{N×C} per block    N·C·D scales
//   omega=scalar,  layers=each     ScaLearnUniform     ω_l ∈ R^N per block        N·D
//   omega=channel, layers=shared   ScaLearn++          one ω ∈ R^{N×C}            N·C
//   omega=scalar,  layers=shared   ScaLearnUniform++   one ω ∈ R^N                N
// ω ~ N(2/N, 0.001²) (the reference's omega_init_scale 2 over N sources); dropout on ω while training (0.3; 0 for
// ScaLearnUniform++ as the reference sets it), never at evaluation. The adapters are stored once for the suite (they
// are the adapter runs' own); a task stores its ω and head.
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <map>

#include "base/error.h"
#include "hypernet/family.h"
#include "trainer/finetune/methods/bottleneck.h"
#include "trainer/finetune/methods/host_tensors.h"

namespace tal {
namespace {

class ScaLearnAdaptation final : public Adaptation {
 public:
  ScaLearnAdaptation(const MethodSpec& m, const ArchSpec& spec, ParamMap& params, uint64_t seed,
                     const SourceModules& sources)
      : gen_(at::make_generator<at::CPUGeneratorImpl>(seed ^ 0x5363614cULL)) {
    const std::string& omega = m.at("omega");
    const std::string& layers = m.at("layers");
    TAL_REQUIRE(omega == "channel" || omega == "scalar", "key 'finetune.methods': '", m.str(), "': omega='",
                omega.substr(0, 40), "' (expected channel or scalar)");
    TAL_REQUIRE(layers == "each" || layers == "shared", "key 'finetune.methods': '", m.str(), "': layers='",
                layers.substr(0, 40), "' (expected each or shared)");
    const bool channel = omega == "channel";
    shared_ = layers == "shared";
    dropout_ = m.at("dropout") == "auto" ? (!channel && shared_ ? 0.0 : 0.3) : m.number("dropout");
    TAL_REQUIRE(dropout_ >= 0 && dropout_ < 1, "key 'finetune.methods': '", m.str(), "': dropout=", m.at("dropout"),
                " (expected a probability in [0, 1))");
    const int64_t n = static_cast<int64_t>(sources.modules.size());
    TAL_REQUIRE(n >= 2, "key 'finetune.methods': '", m.str(), "' scales the adapters of at least two tasks; the grid "
                "gives ", n, " (finetune.tasks names the sources)");
    const int64_t c = width_of(spec), depth = depth_of(spec);
    const Family& family = spec.family();
    const at::Device device = params.begin()->second.device();
    train_host(spec, params, head_of(spec));
    // The sources: each task's adapter on every block's MLP output, frozen.
    sources_.resize(static_cast<size_t>(depth));
    for (size_t k = 0; k < sources.modules.size(); ++k) {
      std::map<std::string, at::Tensor> named(sources.modules[k].begin(), sources.modules[k].end());
      for (int64_t l = 0; l < depth; ++l) {
        const std::string pre = family.block_prefix(l) + "adapter.mlp.";
        auto take = [&](const std::string& name, const std::vector<int64_t>& shape) {
          const auto it = named.find(pre + name);
          TAL_REQUIRE(it != named.end(), "scalearn: the adapter of source task '", sources.tasks[k], "' has no ", pre,
                      name, " (a Pfeiffer adapter on every block of ", spec.str(), " is expected)");
          TAL_REQUIRE(shape.empty() || it->second.sizes().vec() == shape, "scalearn: the adapter of source task '",
                      sources.tasks[k], "': ", pre, name, " is ", shape_str(it->second.sizes().vec()), ", not ",
                      shape_str(shape));
          return it->second.detach().to(device);
        };
        Bottleneck b;
        b.down = take("down.weight", {});
        TAL_REQUIRE(b.down.dim() == 2 && b.down.size(1) == c, "scalearn: the adapter of source task '",
                    sources.tasks[k], "': ", pre, "down.weight is ", shape_str(b.down.sizes().vec()),
                    ", not [m, ", c, "]");
        const int64_t width = b.down.size(0);
        b.down_bias = take("down.bias", {width});
        b.up = take("up.weight", {c, width});
        b.up_bias = take("up.bias", {c});
        sources_[static_cast<size_t>(l)].push_back(b);
      }
    }
    // The scales: [N, C] or [N] per block, or one of them for every block.
    const std::vector<int64_t> shape = channel ? std::vector<int64_t>{n, c} : std::vector<int64_t>{n};
    for (int64_t l = 0; l < (shared_ ? 1 : depth); ++l) {
      auto w = at::empty(shape, at::kFloat).normal_(2.0 / static_cast<double>(n), 0.001, gen_);
      w = w.to(device).requires_grad_(true);
      omegas_.push_back(w);
      modules_.emplace_back(shared_ ? "scalearn.omega" : family.block_prefix(l) + "scalearn.omega", w);
    }
  }

  std::vector<std::pair<std::string, at::Tensor>> modules() const override { return modules_; }
  bool mergeable() const override { return false; }
  int64_t suite_stored_count() const override {  // the sources' adapters, stored once (their heads are their tasks')
    int64_t n = 0;
    for (const auto& block : sources_)
      for (const auto& b : block) n += b.down.numel() + b.down_bias.numel() + b.up.numel() + b.up_bias.numel();
    return n;
  }
  void set_training(bool training) override { training_ = training; }

  at::Tensor mlp(int64_t l, const at::Tensor& u) const override {
    at::Tensor omega = omegas_[shared_ ? 0 : static_cast<size_t>(l)];
    if (training_ && dropout_ > 0) {  // drawn on the CPU from the run's own generator: the same on every rank
      const auto keep = at::empty(omega.sizes(), at::kFloat).bernoulli_(1 - dropout_, gen_).to(omega.device());
      omega = omega * keep / (1 - dropout_);
    }
    const auto& adapters = sources_[static_cast<size_t>(l)];
    at::Tensor weighted;
    for (size_t k = 0; k < adapters.size(); ++k) {
      const auto scaled = omega[static_cast<int64_t>(k)] * adapters[k].delta(u);
      weighted = k == 0 ? scaled : weighted + scaled;
    }
    return u + weighted;
  }

 private:
  bool shared_ = false, training_ = true;
  double dropout_ = 0;
  mutable at::Generator gen_;
  std::vector<std::vector<Bottleneck>> sources_;  // [block][source]
  std::vector<at::Tensor> omegas_;
  std::vector<std::pair<std::string, at::Tensor>> modules_;
};

class ScaLearn final : public Method {
 public:
  std::string name() const override { return "scalearn"; }
  bool keeps_modules() const override { return true; }
  std::string summary() const override {
    return "scales of frozen single-task adapters of every task, and the head (omega, layers, dropout, m)";
  }
  std::vector<std::pair<std::string, std::string>> keys() const override {
    return {{"omega", "channel"}, {"layers", "each"}, {"dropout", "auto"}, {"m", "auto"}};
  }
  std::string source_method(const MethodSpec& m) const override {
    return "adapter:m=" + m.at("m") + ",placement=pfeiffer";
  }
  std::unique_ptr<Adaptation> attach(const MethodSpec& m, const ArchSpec&, ParamMap&, uint64_t) const override {
    throw Error("key 'finetune.methods': '" + m.str() + "' is attached with its source adapters");
  }
  std::unique_ptr<Adaptation> attach(const MethodSpec& m, const ArchSpec& spec, ParamMap& params, uint64_t seed,
                                     const SourceModules& sources) const override {
    return std::make_unique<ScaLearnAdaptation>(m, spec, params, seed, sources);
  }
};

}  // namespace

const Method& scalearn_method() {
  static const ScaLearn m;
  return m;
}

}  // namespace tal
