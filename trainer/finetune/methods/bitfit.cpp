// bitfit (Ben Zaken et al., ACL 2022): every bias of the host (the projections', the MLP's, the LayerNorms' shifts,
// the patch embedding's) and the head; a baseline of the parameter-efficient tables (SCT's, TTC's).
#include "trainer/finetune/methods/host_tensors.h"

namespace tal {
namespace {

bool is_bias(const std::string& name) {
  const std::string tail = "bias";
  return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
}

class BitFit final : public Method {
 public:
  std::string name() const override { return "bitfit"; }
  std::string summary() const override { return "every bias and the head"; }
  std::unique_ptr<Adaptation> attach(const MethodSpec&, const ArchSpec& spec, ParamMap& params,
                                     uint64_t) const override {
    const auto head = head_of(spec);
    return std::make_unique<HostTensors>(spec, params, [head](const std::string& n) { return is_bias(n) || head(n); });
  }
};

}  // namespace

const Method& bitfit_method() {
  static const BitFit m;
  return m;
}

}  // namespace tal
