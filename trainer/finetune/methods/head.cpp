// head: the classifier alone on the frozen host (a linear probe).
#include "trainer/finetune/methods/host_tensors.h"

namespace tal {
namespace {

class Head final : public Method {
 public:
  std::string name() const override { return "head"; }
  std::string summary() const override { return "the classifier alone (a linear probe)"; }
  std::unique_ptr<Adaptation> attach(const MethodSpec&, const ArchSpec& spec, ParamMap& params,
                                     uint64_t) const override {
    return std::make_unique<HostTensors>(spec, params, head_of(spec));
  }
};

}  // namespace

const Method& head_method() {
  static const Head m;
  return m;
}

}  // namespace tal
