#include "trainer/train/run_device.h"

#include "dist/device.h"
#include "dist/launch_env.h"

namespace tal {

RunDevice run_device(const std::string& key_value) {
  const auto choice = choose_device(key_value, probe_device_facts(detect_launch_env()));
  return {at::Device(choice.device), choice.reason};
}

at::Tensor to_device(const at::Tensor& t, at::Device device) {
  if (!t.defined() || t.device() == device) return t;
  if (device.is_cuda() && t.device().is_cpu()) return t.pin_memory().to(device, /*non_blocking=*/true);
  return t.to(device);
}

}  // namespace tal
