// full: every parameter of the descendant, as tal finetune trained before it had methods.
#include "trainer/finetune/methods/host_tensors.h"

namespace tal {
namespace {

class Full final : public Method {
 public:
  std::string name() const override { return "full"; }
  std::string summary() const override { return "every parameter"; }
  std::unique_ptr<Adaptation> attach(const MethodSpec&, const ArchSpec& spec, ParamMap& params,
                                     uint64_t) const override {
    return std::make_unique<HostTensors>(spec, params, [](const std::string&) { return true; });
  }
};

}  // namespace

const Method& full_method() {
  static const Full m;
  return m;
}

}  // namespace tal
