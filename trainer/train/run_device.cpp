#include "trainer/train/run_device.h"

#include "base/error.h"
#include "dist/device.h"
#include "dist/launch_env.h"

namespace tal {

RunDevice run_device(const std::string& key_value, const std::string& backend, int world) {
  const auto choice = choose_device(key_value, probe_device_facts(detect_launch_env()));
  RunDevice out{at::Device(choice.device), choice.reason};
  if (out.device.is_cuda() && backend == "mpi" && world > 1) {
    TAL_REQUIRE(key_value == "auto", "key 'device': cuda with ", world,
                " ranks needs dist.backend=nccl (the mpi backend all-reduces CPU tensors)");
    return {at::kCPU, "device=auto: " + std::to_string(world) + " ranks on dist.backend=mpi, which takes CPU tensors"};
  }
  return out;
}

at::Tensor to_device(const at::Tensor& t, at::Device device) {
  if (!t.defined() || t.device() == device) return t;
  if (device.is_cuda() && t.device().is_cpu()) return t.pin_memory().to(device, /*non_blocking=*/true);
  return t.to(device);
}

}  // namespace tal
