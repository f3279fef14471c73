// two-stage: see two_stage.h.
#include "trainer/finetune/methods/two_stage.h"

#include <algorithm>
#include <numeric>

#include "base/error.h"
#include "trainer/finetune/methods/host_tensors.h"

namespace tal {
namespace {

// Adds a zero tensor to every block's residual stream and keeps the stream: the zero's gradient is ∂L/∂h_l.
class Probe final : public BlockHooks {
 public:
  at::Tensor residual(int64_t l, const at::Tensor& x) const override {
    auto zero = at::zeros_like(x).requires_grad_(true);
    probes_[static_cast<size_t>(l)] = {x.detach(), zero};
    return x + zero;
  }
  mutable std::vector<std::pair<at::Tensor, at::Tensor>> probes_;
};

}  // namespace

at::Tensor taylor_importance(const ArchSpec& spec, const ParamMap& params, const Task& task,
                             const std::vector<int64_t>& positions, int64_t batch) {
  const int64_t depth = depth_of(spec), width = width_of(spec);
  TAL_REQUIRE(!positions.empty(), "two-stage: no training example to compute the channels' importance on");
  auto sum = at::zeros({depth, width}, at::kDouble);
  const at::Device device = params.begin()->second.device();
  const Family& family = spec.family();
  for (size_t start = 0; start < positions.size(); start += static_cast<size_t>(batch)) {
    const std::vector<int64_t> pos(positions.begin() + static_cast<std::ptrdiff_t>(start),
                                   positions.begin() + static_cast<std::ptrdiff_t>(
                                                           std::min(positions.size(), start + static_cast<size_t>(batch))));
    const Batch b = task.load(Split::Train, pos);
    Probe probe;
    probe.probes_.resize(static_cast<size_t>(depth));
    auto inputs = b.inputs.to(device);
    if (inputs.is_floating_point()) inputs = inputs.to(params.begin()->second.scalar_type());  // images, as the weights
    const auto logits = target_forward(spec, params, inputs, &probe);
    family.loss(logits, b.labels.to(device), 0.0).sum().backward();
    // Per example, the number of its content positions (GPT-2: its text's length; padding has no gradient).
    const auto content = family.content_positions(inputs);
    for (int64_t l = 0; l < depth; ++l) {
      const auto& [h, zero] = probe.probes_[static_cast<size_t>(l)];
      // [B, T, C] -> per example and channel, the mean over its positions; |.|, summed over examples.
      const auto hg = (h * zero.grad()).to(at::kDouble);
      const auto per_example = content.defined()
                                   ? hg.sum(1) / content.to(at::kDouble).sum(1, true).clamp_min(1)
                                   : hg.mean(1);
      sum[l] += per_example.abs().sum(0).to(at::kCPU);
    }
  }
  return sum / static_cast<double>(positions.size());
}

at::Tensor top_channels(const at::Tensor& importance, int64_t k) {
  const auto values = importance.to(at::kDouble).contiguous();
  std::vector<int64_t> order(static_cast<size_t>(values.numel()));
  std::iota(order.begin(), order.end(), 0);
  const double* v = values.data_ptr<double>();
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return v[a] > v[b]; });
  order.resize(static_cast<size_t>(k));
  std::sort(order.begin(), order.end());
  return at::tensor(order, at::kLong);
}

namespace {

class TwoStageAdaptation final : public Adaptation {
 public:
  TwoStageAdaptation(const MethodSpec& m, const ArchSpec& spec, ParamMap& params, uint64_t) : spec_(spec) {
    width_ = width_of(spec);
    depth_ = depth_of(spec);
    k_ = m.positive("k", std::max<int64_t>(1, width_ / 8));
    TAL_REQUIRE(k_ <= width_, "key 'finetune.methods': '", m.str(), "': k=", k_, " channels is more than ", spec.str(),
                "'s width ", width_);
    split_ = m.number("split");
    TAL_REQUIRE(split_ > 0 && split_ < 1, "key 'finetune.methods': '", m.str(), "': split=", m.at("split"),
                " (expected the fraction of the steps stage 1 takes, in (0, 1))");
    examples_ = m.positive("examples");
    const std::string& ln = m.at("ln");
    TAL_REQUIRE(ln == "frozen" || ln == "trained", "key 'finetune.methods': '", m.str(), "': ln='", ln.substr(0, 40),
                "' (expected frozen or trained: the LayerNorms in stage 2)");
    ln_in_stage2_ = ln == "trained";
    const auto head = head_of(spec), layer_norm = layer_norm_of(spec);
    stage1_ = train_host(spec, params, [&](const std::string& n) { return head(n) || layer_norm(n); });
    for (const auto& p : param_table(spec)) {
      if (head(p.name)) head_.push_back(params.at(p.name));
      if (layer_norm(p.name)) ln_.push_back(params.at(p.name));
    }
  }

  std::vector<at::Tensor> trainable() const override {
    if (!stage2_) return stage1_;
    std::vector<at::Tensor> out;
    for (const auto& [name, t] : modules_)
      if (t.is_floating_point()) out.push_back(t);
    if (ln_in_stage2_) out.insert(out.end(), ln_.begin(), ln_.end());
    out.insert(out.end(), head_.begin(), head_.end());
    return out;
  }
  std::vector<std::pair<std::string, at::Tensor>> modules() const override { return modules_; }
  // LayerNorms, head and the maps (the maps exist from stage 2 on; their size is known from the start).
  int64_t trainable_count() const override { return numel_of(stage1_) + depth_ * (k_ * k_ + k_); }
  int64_t stored_count() const override { return trainable_count() + depth_ * k_; }
  bool mergeable() const override { return false; }

  std::vector<int64_t> stage_steps(int64_t steps) const override {
    const auto first = std::clamp<int64_t>(std::llround(split_ * static_cast<double>(steps)), 0, steps);
    return {first, steps - first};
  }

  void begin_stage(int stage, const StageContext& context) override {
    TAL_REQUIRE(stage == 1, "two-stage has two stages; stage ", stage, " asked for");
    // At most `examples` training examples, evenly spaced over the split (stores may be ordered by class).
    const size_t n = context.train.size(), take = std::min(n, static_cast<size_t>(examples_));
    std::vector<int64_t> positions;
    for (size_t i = 0; i < take; ++i) positions.push_back(context.train[i * n / take]);
    const auto importance = taylor_importance(spec_, context.params, context.task, positions);
    const at::Device device = context.params.begin()->second.device();
    const Family& family = spec_.family();
    for (int64_t l = 0; l < depth_; ++l) {
      const std::string pre = family.block_prefix(l) + "channels.";
      auto index = top_channels(importance[l], k_).to(device);
      auto w = at::zeros({k_, k_}, at::kFloat).to(device).requires_grad_(true);
      auto b = at::zeros({k_}, at::kFloat).to(device).requires_grad_(true);
      modules_.emplace_back(pre + "weight", w);
      modules_.emplace_back(pre + "bias", b);
      modules_.emplace_back(pre + "index", index);
      maps_.push_back({index, w, b});
    }
    if (!ln_in_stage2_)
      for (auto& t : ln_) t.requires_grad_(false);
    stage2_ = true;
  }

  at::Tensor residual(int64_t l, const at::Tensor& x) const override {
    if (!stage2_) return x;
    const auto& [index, w, b] = maps_[static_cast<size_t>(l)];
    const auto picked = x.index_select(-1, index);
    return x.index_add(-1, index, at::linear(picked, w, b));
  }

 private:
  struct ChannelMap {
    at::Tensor index, weight, bias;
  };
  ArchSpec spec_;
  int64_t width_ = 0, depth_ = 0, k_ = 0, examples_ = 0;
  double split_ = 0.5;
  bool ln_in_stage2_ = false, stage2_ = false;
  std::vector<at::Tensor> stage1_, head_, ln_;
  std::vector<ChannelMap> maps_;
  std::vector<std::pair<std::string, at::Tensor>> modules_;
};

class TwoStage final : public Method {
 public:
  std::string name() const override { return "two-stage"; }
  std::string summary() const override {
    return "ln, then a K x K map on the K channels per block a Taylor importance picks (k, split, examples, ln)";
  }
  std::vector<std::pair<std::string, std::string>> keys() const override {
    return {{"k", "auto"}, {"split", "0.5"}, {"examples", "512"}, {"ln", "frozen"}};
  }
  std::unique_ptr<Adaptation> attach(const MethodSpec& m, const ArchSpec& spec, ParamMap& params,
                                     uint64_t seed) const override {
    return std::make_unique<TwoStageAdaptation>(m, spec, params, seed);
  }
};

}  // namespace

const Method& two_stage_method() {
  static const TwoStage m;
  return m;
}

}  // namespace tal
