// The device this process computes on, from the `device` key, what the binary was built with, the GPUs it sees
// and its place among the ranks on its node (dist/device.h). Every tensor of a step lives there; files are written
// from CPU copies.
#pragma once

#include <ATen/ATen.h>

#include <string>

namespace tal {

struct RunDevice {
  at::Device device = at::kCPU;
  std::string reason;  // one line: why this device
};

// Throws naming the key 'device' when the request cannot be met (cuda on a CPU build or without a visible GPU, or
// several ranks on the MPI backend, which takes CPU tensors). `backend` and `world`: the communicator's; with
// device=auto, several ranks on the MPI backend compute on the CPU.
RunDevice run_device(const std::string& key_value, const std::string& backend = "local", int world = 1);

// `b` on `device`: pinned host memory and an asynchronous copy on a GPU, the tensor itself on the CPU.
at::Tensor to_device(const at::Tensor& t, at::Device device);

}  // namespace tal
