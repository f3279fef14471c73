// lora (Hu et al., ICLR 2022): W0·y + (alpha / r)·B·A·y on the chosen parts of every block's packed q | k | v
// projection, W0 frozen; A [r, C] Kaiming-uniform as HF peft makes it, B [C, r] = 0, so the run starts exactly at the
// host. Folds into the host's q | k | v weight after training (no inference cost): ViT's in_proj rows, GPT-2's
// c_attn columns.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "base/error.h"
#include "trainer/finetune/methods/host_tensors.h"

namespace tal {
namespace {

const char* const kParts[] = {"q", "k", "v"};

class LoraAdaptation final : public Adaptation {
 public:
  LoraAdaptation(const MethodSpec& m, const ArchSpec& spec, ParamMap& params, uint64_t seed)
      : spec_(spec), width_(width_of(spec)), rank_(m.positive("r")),
        scale_((m.at("alpha") == "auto" ? static_cast<double>(rank_) : m.number("alpha")) / static_cast<double>(rank_)) {
    const std::string& targets = m.at("targets");
    TAL_REQUIRE(!targets.empty() && targets.find_first_not_of("qkv") == std::string::npos,
                "key 'finetune.methods': '", m.str(), "': targets='", targets.substr(0, 40),
                "' (expected letters of q, k, v: qv, qkv, q)");
    for (int p = 0; p < 3; ++p) parts_[p] = targets.find(kParts[p]) != std::string::npos;
    TAL_REQUIRE(rank_ <= width_, "key 'finetune.methods': '", m.str(), "': rank r=", rank_, " is larger than ",
                spec.str(), "'s width ", width_);
    head_ = train_host(spec, params, head_of(spec));
    const at::Device device = params.begin()->second.device();
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed ^ 0x4c6f5241ULL);
    const double bound = 1.0 / std::sqrt(static_cast<double>(width_));  // kaiming_uniform(a=sqrt(5)) on [r, C]
    const Family& family = spec.family();
    for (int64_t l = 0; l < depth_of(spec); ++l)
      for (int p = 0; p < 3; ++p) {
        if (!parts_[p]) continue;
        const std::string pre = family.block_prefix(l) + "lora." + kParts[p] + ".";
        auto a = at::empty({rank_, width_}, at::kFloat).uniform_(-bound, bound, gen).to(device).requires_grad_(true);
        auto b = at::zeros({width_, rank_}, at::kFloat).to(device).requires_grad_(true);
        modules_.emplace_back(pre + "lora_A.weight", a);
        modules_.emplace_back(pre + "lora_B.weight", b);
        a_.push_back(a);
        b_.push_back(b);
      }
  }

  std::vector<at::Tensor> trainable() const override {
    std::vector<at::Tensor> out;
    for (const auto& [name, t] : modules_) out.push_back(t);
    out.insert(out.end(), head_.begin(), head_.end());
    return out;
  }
  std::vector<std::pair<std::string, at::Tensor>> modules() const override { return modules_; }
  int64_t trainable_count() const override { return numel_of(trainable()); }

  at::Tensor qkv(int64_t l, const at::Tensor& input, const at::Tensor& projected) const override {
    std::vector<at::Tensor> deltas;
    size_t i = static_cast<size_t>(l) * targeted();
    for (int p = 0; p < 3; ++p) {
      if (parts_[p]) {
        deltas.push_back(at::matmul(at::matmul(input, a_[i].t()), b_[i].t()) * scale_);
        ++i;
      } else {
        deltas.push_back(at::zeros_like(projected.narrow(-1, 0, width_)));
      }
    }
    return projected + at::cat(deltas, -1);
  }

  void merge_into(ParamMap& params) const override {
    at::NoGradGuard guard;
    const Family& family = spec_.family();
    size_t i = 0;
    for (int64_t l = 0; l < depth_of(spec_); ++l) {
      auto& w = params.at(family.qkv_weight(l));
      for (int64_t p = 0; p < 3; ++p) {
        if (!parts_[p]) continue;
        const auto delta = at::matmul(b_[i], a_[i]) * scale_;  // [C out, C in]
        if (family.qkv_stored_in_by_out())
          w.narrow(1, p * width_, width_).add_(delta.t());
        else
          w.narrow(0, p * width_, width_).add_(delta);
        ++i;
      }
    }
  }

 private:
  size_t targeted() const { return static_cast<size_t>(parts_[0]) + parts_[1] + parts_[2]; }

  ArchSpec spec_;
  int64_t width_, rank_;
  double scale_;
  bool parts_[3] = {false, false, false};
  std::vector<at::Tensor> head_, a_, b_;
  std::vector<std::pair<std::string, at::Tensor>> modules_;
};

class Lora final : public Method {
 public:
  std::string name() const override { return "lora"; }
  std::string summary() const override { return "rank-r updates of q and v (r, alpha, targets)"; }
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
