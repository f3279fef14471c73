// adapter: a bottleneck u + W_up·ReLU(W_down·u + b_down) + b_up on every block's MLP output (Pfeiffer placement, one
// per block, reduction factor 16: m = max(2, C/16)), or on the attention output too with every LayerNorm trained
// (Houlsby). W_down ~ N(0, 0.02) (adapter-transformers' default), b_down = 0, and W_up = b_up = 0 (its mam_adapter
// option), so the run starts exactly at the host. Adapters do not fold into the host's tensors.
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "base/error.h"
#include "trainer/finetune/methods/bottleneck.h"
#include "trainer/finetune/methods/host_tensors.h"

namespace tal {
namespace {

class AdapterAdaptation final : public Adaptation {
 public:
  AdapterAdaptation(const MethodSpec& m, const ArchSpec& spec, ParamMap& params, uint64_t seed) {
    const int64_t c = width_of(spec);
    const int64_t width = m.positive("m", std::max<int64_t>(2, c / 16));
    TAL_REQUIRE(width <= c, "key 'finetune.methods': '", m.str(), "': bottleneck m=", width, " is larger than ",
                spec.str(), "'s width ", c);
    const std::string& placement = m.at("placement");
    TAL_REQUIRE(placement == "pfeiffer" || placement == "houlsby", "key 'finetune.methods': '", m.str(),
                "': placement='", placement.substr(0, 40), "' (expected pfeiffer or houlsby)");
    houlsby_ = placement == "houlsby";
    const auto head = head_of(spec), ln = layer_norm_of(spec);
    train_host(spec, params, [&](const std::string& n) { return head(n) || (houlsby_ && ln(n)); });
    const at::Device device = params.begin()->second.device();
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed ^ 0x41646170ULL);
    auto make = [&](const std::string& pre) {
      Bottleneck b;
      b.down = at::empty({width, c}, at::kFloat).normal_(0, 0.02, gen).to(device).requires_grad_(true);
      b.down_bias = at::zeros({width}, at::kFloat).to(device).requires_grad_(true);
      b.up = at::zeros({c, width}, at::kFloat).to(device).requires_grad_(true);
      b.up_bias = at::zeros({c}, at::kFloat).to(device).requires_grad_(true);
      modules_.emplace_back(pre + "down.weight", b.down);
      modules_.emplace_back(pre + "down.bias", b.down_bias);
      modules_.emplace_back(pre + "up.weight", b.up);
      modules_.emplace_back(pre + "up.bias", b.up_bias);
      return b;
    };
    const Family& family = spec.family();
    for (int64_t l = 0; l < depth_of(spec); ++l) {
      if (houlsby_) attention_.push_back(make(family.block_prefix(l) + "adapter.attention."));
      mlp_.push_back(make(family.block_prefix(l) + "adapter.mlp."));
    }
  }

  std::vector<std::pair<std::string, at::Tensor>> modules() const override { return modules_; }
  bool mergeable() const override { return false; }

  at::Tensor attention(int64_t l, const at::Tensor& out) const override {
    return houlsby_ ? attention_[static_cast<size_t>(l)](out) : out;
  }
  at::Tensor mlp(int64_t l, const at::Tensor& u) const override { return mlp_[static_cast<size_t>(l)](u); }

 private:
  bool houlsby_ = false;
  std::vector<Bottleneck> attention_, mlp_;
  std::vector<std::pair<std::string, at::Tensor>> modules_;
};

class Adapter final : public Method {
 public:
  std::string name() const override { return "adapter"; }
  bool ports() const override { return true; }
  std::string summary() const override { return "bottleneck adapters on the MLP output (m, placement)"; }
  std::vector<std::pair<std::string, std::string>> keys() const override {
    return {{"m", "auto"}, {"placement", "pfeiffer"}};
  }
  std::unique_ptr<Adaptation> attach(const MethodSpec& m, const ArchSpec& spec, ParamMap& params,
                                     uint64_t seed) const override {
    return std::make_unique<AdapterAdaptation>(m, spec, params, seed);
  }
};

}  // namespace

const Method& adapter_method() {
  static const Adapter m;
  return m;
}

}  // namespace tal
