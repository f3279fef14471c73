#include "trainer/train/target_step.h"

#include "hypernet/family.h"
#include "trainer/train/run_device.h"
#include "trainer/train/update.h"

namespace tal {

TargetStep target_step(const ArchSpec& spec, const ParamMap& params, const Batch& batch,
                       std::vector<at::Tensor>& trained, AdamW& optim, double lr, double clip, double smoothing,
                       const BlockHooks* hooks, const std::function<at::Tensor()>& penalty) {
  const at::Device device = trained.front().device();
  const auto inputs = to_device(batch.inputs, device), labels = to_device(batch.labels, device);
  const auto loss = spec.family().loss(target_forward(spec, params, inputs, hooks), labels, smoothing).mean();
  optim.zero_grad();
  const at::Tensor extra = penalty ? penalty() : at::Tensor();
  (extra.defined() ? loss + extra : loss).backward();
  std::vector<at::Tensor> no_ema;
  TargetStep out;
  out.grad_norm = apply_update(trained, optim, lr, clip, 0, no_ema);
  out.loss = loss.item<double>();
  return out;
}

}  // namespace tal
