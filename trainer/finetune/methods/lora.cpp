// lora (Hu et al., ICLR 2022): W0·y + (alpha / r)·B·A·y on the chosen projections of every block, W0 frozen; A [r, in]
// Kaiming-uniform as HF peft makes it, B [out, r] = 0, so the run starts exactly at the host. targets: letters of
// the packed q | k | v projection (qv, the paper's default; qkv) and, joined by '+', the attention's out-projection
// and the MLP's layers (qv+out+fc1+fc2). Folds into the host's weights after training (no inference cost): ViT's
// in_proj rows and [out, in] weights, GPT-2's c_attn columns and [in, out] Conv1D weights.
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "trainer/finetune/methods/host_tensors.h"

namespace tal {
namespace {

const char* const kParts[] = {"q", "k", "v"};
constexpr Projection kProjections[] = {Projection::Out, Projection::Fc1, Projection::Fc2};
const char* const kProjectionNames[] = {"out", "fc1", "fc2"};

struct LowRank {
  at::Tensor a, b;  // [r, in], [out, r]
};

class LoraAdaptation final : public Adaptation {
 public:
  LoraAdaptation(const MethodSpec& m, const ArchSpec& spec, ParamMap& params, uint64_t seed)
      : spec_(spec), width_(width_of(spec)), rank_(m.positive("r")),
        scale_((m.at("alpha") == "auto" ? static_cast<double>(rank_) : m.number("alpha")) / static_cast<double>(rank_)) {
    parse_targets(m);
    TAL_REQUIRE(rank_ <= width_, "key 'finetune.methods': '", m.str(), "': rank r=", rank_, " is larger than ",
                spec.str(), "'s width ", width_);
    train_host(spec, params, head_of(spec));
    const at::Device device = params.begin()->second.device();
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed ^ 0x4c6f5241ULL);
    const int64_t mlp = spec.at("mlp");
    auto make = [&](const std::string& pre, int64_t in, int64_t out) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(in));  // kaiming_uniform(a=sqrt(5)) on [r, in]
      LowRank lr;
      lr.a = at::empty({rank_, in}, at::kFloat).uniform_(-bound, bound, gen).to(device).requires_grad_(true);
      lr.b = at::zeros({out, rank_}, at::kFloat).to(device).requires_grad_(true);
      modules_.emplace_back(pre + "lora_A.weight", lr.a);
      modules_.emplace_back(pre + "lora_B.weight", lr.b);
      return lr;
    };
    const Family& family = spec.family();
    for (int64_t l = 0; l < depth_of(spec); ++l) {
      for (int p = 0; p < 3; ++p)
        if (parts_[p]) qkv_.push_back(make(family.block_prefix(l) + "lora." + kParts[p] + ".", width_, width_));
      for (int p = 0; p < 3; ++p)
        if (projections_[p])
          others_[p].push_back(make(family.block_prefix(l) + "lora." + kProjectionNames[p] + ".",
                                    kProjections[p] == Projection::Fc2 ? mlp : width_,
                                    kProjections[p] == Projection::Fc1 ? mlp : width_));
    }
  }

  std::vector<std::pair<std::string, at::Tensor>> modules() const override { return modules_; }

  at::Tensor qkv(int64_t l, const at::Tensor& input, const at::Tensor& projected) const override {
    const size_t targeted = static_cast<size_t>(parts_[0]) + parts_[1] + parts_[2];
    if (targeted == 0) return projected;
    auto parts = projected.split(width_, -1);  // q | k | v, views
    size_t i = static_cast<size_t>(l) * targeted;
    for (size_t p = 0; p < 3; ++p)
      if (parts_[p]) parts[p] = parts[p] + delta(qkv_[i++], input);
    return at::cat(parts, -1);
  }

  at::Tensor projection(int64_t l, Projection p, const at::Tensor& input, const at::Tensor& output) const override {
    const auto k = static_cast<size_t>(p);
    return projections_[k] ? output + delta(others_[k][static_cast<size_t>(l)], input) : output;
  }

  void merge_into(ParamMap& params) const override {
    at::NoGradGuard guard;
    const Family& family = spec_.family();
    const bool in_by_out = family.weights_stored_in_by_out();
    auto fold = [&](at::Tensor w, const LowRank& lr) {  // w: the host's weight (or its part), as stored
      const auto d = at::matmul(lr.b, lr.a) * scale_;      // [out, in]
      w.add_(in_by_out ? d.t() : d);
    };
    size_t i = 0;
    for (int64_t l = 0; l < depth_of(spec_); ++l) {
      auto& w = params.at(family.qkv_weight(l));
      for (int64_t p = 0; p < 3; ++p)
        if (parts_[p]) fold(w.narrow(in_by_out ? 1 : 0, p * width_, width_), qkv_[i++]);
      for (size_t p = 0; p < 3; ++p)
        if (projections_[p])
          fold(params.at(family.projection_weight(l, kProjections[p])), others_[p][static_cast<size_t>(l)]);
    }
  }

 private:
  at::Tensor delta(const LowRank& lr, const at::Tensor& input) const {
    return at::matmul(at::matmul(input, lr.a.t()), lr.b.t()) * scale_;
  }

  // "qv", "qkv+out", "qv+out+fc1+fc2", "fc1+fc2": q/k/v letters and projection names joined by '+'.
  void parse_targets(const MethodSpec& m) {
    const std::string& targets = m.at("targets");
    size_t start = 0;
    while (start <= targets.size()) {
      const auto plus = std::min(targets.find('+', start), targets.size());
      const std::string token = targets.substr(start, plus - start);
      bool known = false;
      for (int p = 0; p < 3; ++p)
        if (token == kProjectionNames[p]) projections_[p] = known = true;
      if (!known && !token.empty() && token.find_first_not_of("qkv") == std::string::npos) {
        for (int p = 0; p < 3; ++p) parts_[p] = parts_[p] || token.find(kParts[p]) != std::string::npos;
        known = true;
      }
      TAL_REQUIRE(known, "key 'finetune.methods': '", m.str(), "': targets='", targets.substr(0, 40),
                  "' (expected letters of q, k, v and out, fc1, fc2 joined by '+': qv, qkv, qv+out+fc1+fc2)");
      start = plus + 1;
    }
  }

  ArchSpec spec_;
  int64_t width_, rank_;
  double scale_;
  bool parts_[3] = {false, false, false};
  bool projections_[3] = {false, false, false};
  std::vector<LowRank> qkv_;        // per block, per targeted part of q | k | v
  std::vector<LowRank> others_[3];  // per projection, per block
  std::vector<std::pair<std::string, at::Tensor>> modules_;
};

class Lora final : public Method {
 public:
  std::string name() const override { return "lora"; }
  bool ports() const override { return true; }
  std::string summary() const override { return "rank-r updates of q and v, or other projections (r, alpha, targets)"; }
  std::vector<std::pair<std::string, std::string>> keys() const override {
    return {{"r", "4"}, {"alpha", "auto"}, {"targets", "qv"}};
  }
  // alpha=auto: alpha = r (alpha / r = 1).
  std::unique_ptr<Adaptation> attach(const MethodSpec& m, const ArchSpec& spec, ParamMap& params,
                                     uint64_t seed) const override {
    return std::make_unique<LoraAdaptation>(m, spec, params, seed);
  }
};

}  // namespace

const Method& lora_method() {
  static const Lora m;
  return m;
}

}  // namespace tal
