// Which device a rank computes on: a pure function of the `device` key, what the binary was built with, the GPUs
// the process sees (CUDA_VISIBLE_DEVICES already applied by the CUDA runtime) and the rank's place on its node.
#pragma once

#include <string>
#include <vector>

#include "dist/launch_env.h"

namespace tal {

// auto (a GPU when the build has CUDA and the rank sees one, else the CPU) | cpu | cuda.
const std::vector<std::string>& device_names();

struct DeviceFacts {
  bool cuda_built = false;  // LibTorch was built with CUDA
  int visible_gpus = 0;     // devices this process sees
  bool visibility_set = false;  // CUDA_VISIBLE_DEVICES is set (per rank under SLURM's --gpus-per-task)
  LaunchEnv env;            // local rank and local world size
};

struct DeviceChoice {
  std::string device = "cpu";  // "cpu" or "cuda:N"
  std::string reason;          // one line: why this device
};

// Throws naming key 'device' when the request cannot be met: cuda without a CUDA build or a visible GPU, or more
// ranks on a node than GPUs they see (on every rank alike, so no rank starts alone; `auto` takes the CPU there). A
// rank that sees one GPU because CUDA_VISIBLE_DEVICES gave it one (SLURM's --gpus-per-task) uses it whatever its
// local rank; a rank that sees several takes the one at its local rank.
DeviceChoice choose_device(const std::string& key, const DeviceFacts& facts);

// Waits until the work queued on `device` is done (a GPU runs asynchronously; a no-op on the CPU), so a clock read
// after it times the work and not its launch.
void synchronize(const std::string& device);

// The processor's bf16 instructions from /proc/cpuinfo ("avx512_bf16 amx_bf16"; "" where none or unreadable).
std::string cpu_bf16_flags();

// The facts of this process (asks LibTorch's CUDA hooks; no CUDA context is created on a CPU build).
DeviceFacts probe_device_facts(const LaunchEnv& env);

}  // namespace tal
