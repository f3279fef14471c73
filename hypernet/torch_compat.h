// The few LibTorch APIs that differ between Debian's CPU LibTorch 1.13 and the CUDA LibTorch 2.x of a PyTorch
// wheel, behind one interface, so no other file needs a version #if.
#pragma once

#include <ATen/autocast_mode.h>
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <string>

#define TAL_TORCH_AT_LEAST_2_4 (TORCH_VERSION_MAJOR >= 3 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4))

namespace tal {

namespace compat {
inline bool autocast_enabled(at::DeviceType d) {
#if TAL_TORCH_AT_LEAST_2_4
  return at::autocast::is_autocast_enabled(d);
#else
  return d == at::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}
inline at::ScalarType autocast_dtype(at::DeviceType d) {
#if TAL_TORCH_AT_LEAST_2_4
  return at::autocast::get_autocast_dtype(d);
#else
  return d == at::kCPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
#endif
}
inline void set_autocast(at::DeviceType d, bool enabled, at::ScalarType dtype) {
#if TAL_TORCH_AT_LEAST_2_4
  at::autocast::set_autocast_enabled(d, enabled);
  at::autocast::set_autocast_dtype(d, dtype);
#else
  if (d == at::kCPU) {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  } else {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  }
#endif
}
}  // namespace compat

// Mixed precision on `device` (CPU or CUDA) for the lifetime of the guard: matrix products in bfloat16 (LibTorch's
// autocast policy for that device), everything it lists as fp32 kept in float32. Nests; restores the previous state.
class AutocastGuard {
 public:
  AutocastGuard(at::DeviceType device, bool enabled) : device_(device), enabled_(enabled) {
    if (!enabled_) return;
    was_enabled_ = compat::autocast_enabled(device_);
    was_dtype_ = compat::autocast_dtype(device_);
    compat::set_autocast(device_, true, at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    compat::set_autocast(device_, was_enabled_, was_dtype_);
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  at::DeviceType device_;
  bool enabled_;
  bool was_enabled_ = false;
  at::ScalarType was_dtype_ = at::kBFloat16;
};

// Whether an error LibTorch raised is an allocator's out-of-memory (a c10::OutOfMemoryError in 2.x; 1.13 raises a
// plain c10::Error saying so).
inline bool is_out_of_memory(const c10::Error& e) {
  const std::string what = e.what();
  return what.find("out of memory") != std::string::npos || what.find("OutOfMemory") != std::string::npos;
}

}  // namespace tal
