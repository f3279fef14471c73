// cwps: see cwps.h.
#include "trainer/finetune/methods/cwps.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "hypernet/family.h"
#include "trainer/finetune/methods/host_tensors.h"
#include "trainer/finetune/methods/method.h"

namespace tal {
namespace {

// The bias beside a weight: "...in_proj_weight" -> "...in_proj_bias", "....weight" -> "....bias".
std::string bias_of(const std::string& weight) {
  for (const std::string suffix : {"_weight", ".weight"})
    if (weight.size() > suffix.size() && weight.compare(weight.size() - suffix.size(), suffix.size(), suffix) == 0)
      return weight.substr(0, weight.size() - suffix.size()) + suffix.substr(0, 1) + "bias";
  throw Error("cwps: no bias name for weight '" + weight + "'");
}

// A weight with one output channel per row (GPT-2's Conv1D keeps them in columns).
at::Tensor by_rows(const at::Tensor& w, bool in_by_out) { return in_by_out ? w.t() : w; }

// Per row: the weight's row and its bias entry minus the host's, [rows, in + 1], in double.
at::Tensor row_deltas(const ComposedLayer& layer, const ComposedWeights& host, const ComposedWeights& model,
                      bool in_by_out) {
  const auto w = by_rows(model.at(layer.weight).detach(), in_by_out) - by_rows(host.at(layer.weight).detach(), in_by_out);
  const auto b = model.at(layer.bias).detach() - host.at(layer.bias).detach();
  return at::cat({w, b.unsqueeze(1)}, 1).to(at::kDouble).to(at::kCPU);
}

}  // namespace

std::vector<ComposedLayer> composed_layers(const ArchSpec& spec) {
  const Family& family = spec.family();
  std::vector<ComposedLayer> out;
  for (int64_t l = 0; l < depth_of(spec); ++l) {
    std::vector<std::string> weights = {family.qkv_weight(l)};
    for (const Projection p : {Projection::Out, Projection::Fc1, Projection::Fc2})
      weights.push_back(family.projection_weight(l, p));
    for (const auto& w : weights) out.push_back({w, bias_of(w), l});
  }
  return out;
}

ComposedWeights composed_weights(const ArchSpec& spec, const ParamMap& params) {
  ComposedWeights out;
  for (const auto& layer : composed_layers(spec)) {
    out[layer.weight] = params.at(layer.weight).detach().clone();
    out[layer.bias] = params.at(layer.bias).detach().clone();
  }
  return out;
}

at::Tensor cpms_per_block(const ArchSpec& spec, const ComposedWeights& host, const ComposedWeights& child,
                          const ComposedWeights& member) {
  const bool in_by_out = spec.family().weights_stored_in_by_out();
  const int64_t depth = depth_of(spec);
  auto sum = at::zeros({depth}, at::kDouble), rows = at::zeros({depth}, at::kDouble);
  for (const auto& layer : composed_layers(spec)) {
    const auto a = row_deltas(layer, host, child, in_by_out), b = row_deltas(layer, host, member, in_by_out);
    const auto norms = a.norm(2, 1) * b.norm(2, 1);
    // cos with a zero row := 0 (the host, and a row the child or the member never moved, relate to nothing)
    const auto cos = at::where(norms > 0, (a * b).sum(1) / norms.clamp_min(1e-300), at::zeros_like(norms));
    sum[layer.block] += cos.sum();
    rows[layer.block] += static_cast<double>(a.size(0));
  }
  return sum / rows;
}

std::vector<int64_t> choose_parents(const at::Tensor& cpms) {
  const auto c = cpms.to(at::kDouble).contiguous();
  std::vector<int64_t> out;
  for (int64_t l = 0; l < c.size(0); ++l) {
    int64_t best = 0;
    double best_score = 0;
    for (int64_t p = 1; p < c.size(1); ++p)
      if (c[l][p].item<double>() > best_score) best = p, best_score = c[l][p].item<double>();
    out.push_back(best);
  }
  return out;
}

namespace {

class CwpsAdaptation final : public Adaptation {
 public:
  CwpsAdaptation(const MethodSpec& m, const ArchSpec& spec, ParamMap& params, const SourceModules& sources)
      : spec_(spec), layers_(composed_layers(spec)) {
    lambda_ = m.number("lambda");
    tau_ = m.number("tau");
    child_share_ = m.number("child");
    const double start = m.number("init");
    TAL_REQUIRE(lambda_ >= 0, "key 'finetune.methods': '", m.str(), "': lambda=", m.at("lambda"),
                " (expected a penalty weight >= 0)");
    TAL_REQUIRE(child_share_ > 0 && child_share_ < 1, "key 'finetune.methods': '", m.str(), "': child=", m.at("child"),
                " (expected the fraction of the steps the child trains alone, in (0, 1))");
    in_by_out_ = spec.family().weights_stored_in_by_out();
    head_ = train_host(spec, params, head_of(spec));
    head_count_ = numel_of(head_);
    for (const auto& layer : layers_)
      for (const auto* name : {&layer.weight, &layer.bias}) child_stage_.push_back(params.at(*name).requires_grad_(true));
    const at::Device device = params.begin()->second.device();
    pool_.push_back(composed_weights(spec, params));
    pool_tasks_.push_back("host");
    for (size_t k = 0; k < sources.modules.size(); ++k) {
      pool_.push_back(rebuilt(sources.tasks[k], sources.modules[k], device));
      pool_tasks_.push_back(sources.tasks[k]);
    }
    for (const auto& layer : layers_) {
      const int64_t rows = params.at(layer.bias).size(0);
      scores_.push_back(at::full({rows}, start, at::kFloat).to(device).requires_grad_(true));
      total_rows_ += rows;
    }
    cpms_ = at::zeros({depth_of(spec), static_cast<int64_t>(pool_.size())}, at::kDouble);
    parents_.assign(static_cast<size_t>(depth_of(spec)), 0);
  }

  std::vector<at::Tensor> trainable() const override {
    std::vector<at::Tensor> out = stage_ == 0 ? child_stage_ : child_;
    if (stage_ == 1) out.insert(out.end(), scores_.begin(), scores_.end());
    out.insert(out.end(), head_.begin(), head_.end());
    return out;
  }
  int64_t trainable_count() const override { return numel_of(child_stage_) + total_rows_ + head_count_; }
  // The child's own rows (with their bias entries), a bit per row, a parent index per block, the head.
  int64_t stored_count() const override {
    int64_t n = 0;
    for (size_t i = 0; i < layers_.size(); ++i) {
      const int64_t own = (~(scores_[i] >= tau_)).sum().item<int64_t>();
      n += own * (by_rows(child_stage_[2 * i], in_by_out_).size(1) + 1);
    }
    return n + (total_rows_ + 31) / 32 + depth_of(spec_) + head_count_;
  }

  // Per layer its scores and the child's rows where the mask is 0 (weight rows, then bias entries); the parent index
  // per block; CPMS per block and pool member (the report's heatmap).
  std::vector<std::pair<std::string, at::Tensor>> modules() const override {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (size_t i = 0; i < layers_.size(); ++i) {
      const auto own = (~(scores_[i] >= tau_)).nonzero().flatten().to(at::kCPU);
      const auto& w = stage_ == 1 ? child_[2 * i] : child_stage_[2 * i];
      const auto& b = stage_ == 1 ? child_[2 * i + 1] : child_stage_[2 * i + 1];
      out.emplace_back(layers_[i].weight + ".cwps_score", scores_[i]);
      out.emplace_back(layers_[i].weight + ".cwps_rows",
                       by_rows(w.detach(), in_by_out_).to(at::kCPU).index_select(0, own).contiguous());
      out.emplace_back(layers_[i].bias + ".cwps_rows", b.detach().to(at::kCPU).index_select(0, own).contiguous());
    }
    out.emplace_back("cwps.parent", at::tensor(parents_, at::kLong).to(at::kFloat));
    out.emplace_back("cwps.cpms", cpms_.to(at::kFloat));
    return out;
  }

  std::vector<int64_t> stage_steps(int64_t steps) const override {
    const auto first = std::clamp<int64_t>(std::llround(child_share_ * static_cast<double>(steps)), 0, steps);
    return {first, steps - first};
  }

  // The child is trained: the pool scored against it, the parent chosen per block, the host's own tensors back.
  void begin_stage(int stage, const StageContext& context) override {
    TAL_REQUIRE(stage == 1, "cwps has two stages; stage ", stage, " asked for");
    ComposedWeights child;
    for (const auto& t : child_stage_) child_.push_back(t.detach().clone().requires_grad_(true));
    for (size_t i = 0; i < layers_.size(); ++i) {
      child[layers_[i].weight] = child_[2 * i];
      child[layers_[i].bias] = child_[2 * i + 1];
    }
    for (size_t p = 0; p < pool_.size(); ++p)
      cpms_.select(1, static_cast<int64_t>(p)).copy_(cpms_per_block(spec_, pool_[0], child, pool_[p]));
    parents_ = choose_parents(cpms_);
    at::NoGradGuard no_grad;
    for (const auto& layer : layers_)  // the host's own values again, frozen (the composed layers replace them)
      for (const auto* name : {&layer.weight, &layer.bias})
        context.params.at(*name).requires_grad_(false).copy_(pool_[0].at(*name));
    for (const auto& layer : layers_) {
      const auto& from = pool_[static_cast<size_t>(parents_[static_cast<size_t>(layer.block)])];
      parent_.push_back(from.at(layer.weight));
      parent_.push_back(from.at(layer.bias));
    }
    stage_ = 1;
  }

  at::Tensor penalty() const override {
    if (stage_ == 0 || lambda_ == 0) return {};
    at::Tensor off;  // Σ (1 − m), its gradient passed straight through to the scores
    for (const auto& s : scores_) {
      const auto n = (1 - straight(s)).sum();
      off = off.defined() ? off + n : n;
    }
    return off * (lambda_ / static_cast<double>(total_rows_));
  }

  void merge_into(ParamMap& params) const override {
    if (stage_ == 0) return;
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < layers_.size(); ++i) {
      params.at(layers_[i].weight).copy_(effective(i, 0));
      params.at(layers_[i].bias).copy_(effective(i, 1));
    }
  }

  at::Tensor qkv(int64_t l, const at::Tensor& input, const at::Tensor& projected) const override {
    return stage_ == 0 ? projected : linear(static_cast<size_t>(l) * 4, input);
  }
  at::Tensor projection(int64_t l, Projection p, const at::Tensor& input, const at::Tensor& output) const override {
    return stage_ == 0 ? output : linear(static_cast<size_t>(l) * 4 + 1 + static_cast<size_t>(p), input);
  }

 private:
  // A pool member from what its run stored: per block its parent (host or an earlier member), its own rows where its
  // mask is 0. One line naming the task and tensor where the file does not fit this spec.
  ComposedWeights rebuilt(const std::string& task, const std::vector<std::pair<std::string, at::Tensor>>& modules,
                          const at::Device& device) const {
    const std::map<std::string, at::Tensor> named(modules.begin(), modules.end());
    auto take = [&](const std::string& name, const std::vector<int64_t>& shape) {
      const auto it = named.find(name);
      TAL_REQUIRE(it != named.end(), "cwps: the pool model of task '", task, "' has no ", name, " (a cwps model of ",
                  spec_.str(), " is expected)");
      TAL_REQUIRE(it->second.sizes().vec() == shape, "cwps: the pool model of task '", task, "': ", name, " is ",
                  shape_str(it->second.sizes().vec()), ", not ", shape_str(shape), " (a cwps model of ", spec_.str(),
                  " is expected)");
      return it->second.detach().to(at::kCPU);
    };
    const int64_t depth = depth_of(spec_);
    const auto parents = take("cwps.parent", {depth});
    ComposedWeights out;
    for (const auto& layer : layers_) {
      const double parent = parents[layer.block].item<double>();
      TAL_REQUIRE(parent >= 0 && parent < static_cast<double>(pool_.size()) && parent == std::floor(parent),
                  "cwps: the pool model of task '", task, "': cwps.parent of block ", layer.block, " is ", parent,
                  ", not the index of a model before it (0 to ", pool_.size() - 1, ")");
      const auto& from = pool_[static_cast<size_t>(parent)];
      auto w = from.at(layer.weight).detach().to(at::kCPU).clone(), b = from.at(layer.bias).detach().to(at::kCPU).clone();
      const int64_t rows = b.size(0), in = by_rows(w, in_by_out_).size(1);
      const auto own = (~(take(layer.weight + ".cwps_score", {rows}) >= tau_)).nonzero().flatten();
      by_rows(w, in_by_out_).index_copy_(0, own, take(layer.weight + ".cwps_rows", {own.size(0), in}));
      b.index_copy_(0, own, take(layer.bias + ".cwps_rows", {own.size(0)}));
      out[layer.weight] = w.to(device);
      out[layer.bias] = b.to(device);
    }
    return out;
  }

  // 1[s >= tau], its gradient passed straight through to s (the value is the indicator's exactly).
  at::Tensor straight(const at::Tensor& s) const {
    return (s >= tau_).to(s.scalar_type()) + (s - s.detach());
  }
  // Layer i's weight (part 0) or bias (part 1): the parent's rows where the mask is 1, the child's where it is 0
  // (each exactly), plus a zero whose gradient to the score is <dL/dW_j, W^parent_j - W^child_j>.
  at::Tensor effective(size_t i, int part) const {
    const auto& s = scores_[i];
    auto mask = s >= tau_, zero = s - s.detach();
    const auto& p = parent_[2 * i + static_cast<size_t>(part)];
    const auto& c = child_[2 * i + static_cast<size_t>(part)];
    if (part == 0) {
      const int64_t dim = in_by_out_ ? 0 : 1;  // the rows' axis is the other one
      mask = mask.unsqueeze(dim);
      zero = zero.unsqueeze(dim);
    }
    return at::where(mask, p, c) + zero * (p - c);
  }
  // The layer's output as the family computes it, with the composed weight.
  at::Tensor linear(size_t i, const at::Tensor& input) const {
    const auto w = effective(i, 0), b = effective(i, 1);
    return in_by_out_ ? at::matmul(input, w) + b : at::linear(input, w, b);
  }

  ArchSpec spec_;
  std::vector<ComposedLayer> layers_;
  double lambda_ = 1, tau_ = 0.1, child_share_ = 0.2;
  bool in_by_out_ = false;
  int stage_ = 0;
  int64_t head_count_ = 0, total_rows_ = 0;
  std::vector<at::Tensor> head_;
  std::vector<at::Tensor> child_stage_;     // stage 0: the host's own block tensors, trained (weight, bias per layer)
  std::vector<at::Tensor> child_, parent_;  // stage 1: the child's and the parent's (weight, bias per layer)
  std::vector<at::Tensor> scores_;          // per layer, one per row
  std::vector<ComposedWeights> pool_;       // [0] the host, then the earlier tasks' models in suite order
  std::vector<std::string> pool_tasks_;
  at::Tensor cpms_;                         // [depth, pool]
  std::vector<int64_t> parents_;
};

class Cwps final : public Method {
 public:
  std::string name() const override { return "cwps"; }
  bool keeps_modules() const override { return true; }
  bool incremental() const override { return true; }
  std::string summary() const override {
    return "channels shared with a parent composed per block from the earlier tasks' models, the rest a briefly "
           "trained child's, by learned masks (lambda, tau, init, child; a reconstruction)";
  }
  std::vector<std::pair<std::string, std::string>> keys() const override {
    return {{"lambda", "1"}, {"tau", "0.1"}, {"init", "0.15"}, {"child", "0.2"}};
  }
  std::string source_method(const MethodSpec& m) const override { return m.str(); }
  std::unique_ptr<Adaptation> attach(const MethodSpec& m, const ArchSpec&, ParamMap&, uint64_t) const override {
    throw Error("key 'finetune.methods': '" + m.str() + "' is attached with the models of the tasks before it");
  }
  std::unique_ptr<Adaptation> attach(const MethodSpec& m, const ArchSpec& spec, ParamMap& params, uint64_t,
                                     const SourceModules& sources) const override {
    return std::make_unique<CwpsAdaptation>(m, spec, params, sources);
  }
};

}  // namespace

const Method& cwps_method() {
  static const Cwps m;
  return m;
}

}  // namespace tal
