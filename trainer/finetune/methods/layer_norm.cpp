// ln: every LayerNorm's scale and shift, and the head (two-stage PETL's first stage, "distribution alignment").
#include "trainer/finetune/methods/host_tensors.h"

namespace tal {
namespace {

class LayerNormTuning final : public Method {
 public:
  std::string name() const override { return "ln"; }
  std::string summary() const override { return "every LayerNorm's scale and shift, and the head"; }
  std::unique_ptr<Adaptation> attach(const MethodSpec&, const ArchSpec& spec, ParamMap& params,
                                     uint64_t) const override {
    const auto head = head_of(spec), ln = layer_norm_of(spec);
    return std::make_unique<HostTensors>(spec, params,
                                         [head, ln](const std::string& n) { return ln(n) || head(n); });
  }
};

}  // namespace

const Method& layer_norm_method() {
  static const LayerNormTuning m;
  return m;
}

}  // namespace tal
