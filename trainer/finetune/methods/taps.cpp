// taps (Wallingford et al., "Task Adaptive Parameter Sharing for Multi-Task Learning", CVPR 2022; the baseline of seed
// 001): every adaptable weight i of the host (each block's packed q|k|v, out-projection, fc1 and fc2) gets a delta δW_i
// (0 at the start) and one score s_i (0.15), and the task's model uses
//   W_i = W0_i + 1[s_i >= tau]·δW_i        (tau = 0.1)
// with a straight-through gradient to the score (∂L/∂s_i := <∂L/∂W_i, δW_i>), under the loss
//   L_task + lambda·(1/n)·Σ_i |s_i|        (n: the number of adaptable weights)
// which presses layers back to the shared host. The deltas, scores and head are trained; a task stores the deltas of
// its active layers and the head, and the active deltas fold into the host's weights. The reference delays the
// penalty by two of thirty epochs; here it applies from the first step (ours).
#include <ATen/CPUGeneratorImpl.h>

#include "base/error.h"
#include "hypernet/family.h"
#include "trainer/finetune/methods/host_tensors.h"

namespace tal {
namespace {

constexpr Projection kProjections[] = {Projection::Out, Projection::Fc1, Projection::Fc2};

class TapsAdaptation final : public Adaptation {
 public:
  TapsAdaptation(const MethodSpec& m, const ArchSpec& spec, ParamMap& params) : spec_(spec) {
    lambda_ = m.number("lambda");
    tau_ = m.number("tau");
    const double start = m.number("init");
    TAL_REQUIRE(lambda_ >= 0, "key 'finetune.methods': '", m.str(), "': lambda=", m.at("lambda"),
                " (expected a penalty weight >= 0)");
    const Family& family = spec.family();
    in_by_out_ = family.weights_stored_in_by_out();
    head_count_ = numel_of(train_host(spec, params, head_of(spec)));
    const at::Device device = params.begin()->second.device();
    for (int64_t l = 0; l < depth_of(spec); ++l) {
      std::vector<std::string> weights = {family.qkv_weight(l)};
      for (const Projection p : kProjections) weights.push_back(family.projection_weight(l, p));
      for (size_t i = 0; i < weights.size(); ++i) {
        Layer layer;
        layer.weight = weights[i];
        layer.delta = at::zeros(params.at(weights[i]).sizes(), at::kFloat).to(device).requires_grad_(true);
        layer.score = at::full({}, start, at::kFloat).to(device).requires_grad_(true);
        modules_.emplace_back(weights[i] + ".taps_delta", layer.delta);
        modules_.emplace_back(weights[i] + ".taps_score", layer.score);
        layers_.push_back(std::move(layer));
      }
    }
  }

  std::vector<std::pair<std::string, at::Tensor>> modules() const override { return modules_; }
  // The active deltas and the head (before training every delta is active: the upper bound).
  int64_t stored_count() const override {
    int64_t n = 0;
    for (const auto& layer : layers_)
      if (active(layer)) n += layer.delta.numel();
    return n + head_count_;
  }
  void merge_into(ParamMap& params) const override {
    at::NoGradGuard guard;
    for (const auto& layer : layers_)
      if (active(layer)) params.at(layer.weight).add_(layer.delta);
  }
  at::Tensor penalty() const override {
    if (lambda_ == 0) return {};
    at::Tensor sum;
    for (const auto& layer : layers_) sum = sum.defined() ? sum + layer.score.abs() : layer.score.abs();
    return sum * (lambda_ / static_cast<double>(layers_.size()));
  }

  at::Tensor qkv(int64_t l, const at::Tensor& input, const at::Tensor& projected) const override {
    return projected + added(layers_[static_cast<size_t>(l) * 4], input);
  }
  at::Tensor projection(int64_t l, Projection p, const at::Tensor& input, const at::Tensor& output) const override {
    return output + added(layers_[static_cast<size_t>(l) * 4 + 1 + static_cast<size_t>(p)], input);
  }

 private:
  struct Layer {
    std::string weight;
    at::Tensor delta, score;
  };
  bool active(const Layer& layer) const { return layer.score.item<double>() >= tau_; }
  // 1[s >= tau]·(input·δW), the indicator's gradient passed straight through to the score.
  at::Tensor added(const Layer& layer, const at::Tensor& input) const {
    const auto gate = (layer.score >= tau_).to(layer.score.scalar_type());
    const auto straight = gate.detach() + (layer.score - layer.score.detach());  // exactly the gate's value
    const auto product = in_by_out_ ? at::matmul(input, layer.delta) : at::matmul(input, layer.delta.t());
    return straight * product;
  }
  ArchSpec spec_;
  double lambda_ = 1, tau_ = 0.1;
  bool in_by_out_ = false;
  int64_t head_count_ = 0;
  std::vector<Layer> layers_;
  std::vector<std::pair<std::string, at::Tensor>> modules_;
};

class Taps final : public Method {
 public:
  std::string name() const override { return "taps"; }
  bool keeps_modules() const override { return true; }
  std::string summary() const override {
    return "a delta per weight, switched on by a learned score under a sparsity penalty (lambda, tau, init)";
  }
  std::vector<std::pair<std::string, std::string>> keys() const override {
    return {{"lambda", "1"}, {"tau", "0.1"}, {"init", "0.15"}};
  }
  std::unique_ptr<Adaptation> attach(const MethodSpec& m, const ArchSpec& spec, ParamMap& params,
                                     uint64_t) const override {
    return std::make_unique<TapsAdaptation>(m, spec, params);
  }
};

}  // namespace

const Method& taps_method() {
  static const Taps m;
  return m;
}

}  // namespace tal
