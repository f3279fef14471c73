#include "dist/device.h"

#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>

#include <cstdlib>
#include <fstream>

#include "base/error.h"

namespace tal {

const std::vector<std::string>& device_names() {
  static const std::vector<std::string> names = {"auto", "cpu", "cuda"};
  return names;
}

DeviceChoice choose_device(const std::string& key, const DeviceFacts& f) {
  TAL_REQUIRE(key == "auto" || key == "cpu" || key == "cuda", "key 'device': '", key,
              "' is not one of auto, cpu, cuda");
  if (key == "cpu") return {"cpu", "device=cpu"};
  const bool usable = f.cuda_built && f.visible_gpus > 0;
  if (!usable) {
    const std::string why = !f.cuda_built ? "this binary's LibTorch was built without CUDA"
                                          : "no CUDA device is visible (check CUDA_VISIBLE_DEVICES and the driver)";
    TAL_REQUIRE(key == "auto", "key 'device': cuda requested but ", why);
    return {"cpu", "device=auto: " + why};
  }
  const bool own_gpu = f.visible_gpus == 1 && f.visibility_set;  // each rank was given its own
  if (!own_gpu && f.env.local_world > f.visible_gpus) {
    // The same answer on every rank of the node: none starts alone.
    const std::string why = std::to_string(f.env.local_world) + " ranks on this node but only " +
                            std::to_string(f.visible_gpus) + " GPU(s) visible to each";
    TAL_REQUIRE(key == "auto", "key 'device': ", why, " (start one rank per GPU, give each its own with "
                "CUDA_VISIBLE_DEVICES or SLURM's --gpus-per-task, or device=cpu)");
    return {"cpu", "device=auto: " + why};
  }
  if (f.visible_gpus == 1)
    return {"cuda:0", "device=" + key + ": the one visible GPU (local rank " + std::to_string(f.env.local_rank) + ")"};
  return {"cuda:" + std::to_string(f.env.local_rank),
          "device=" + key + ": GPU " + std::to_string(f.env.local_rank) + " of " + std::to_string(f.visible_gpus) +
              " visible, by local rank"};
}

void synchronize(const std::string& device) {
  const c10::Device d(device);
  if (d.is_cuda()) at::detail::getCUDAHooks().deviceSynchronize(d.has_index() ? d.index() : 0);
}

std::string cpu_bf16_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, found;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    for (const char* f : {"avx512_bf16", "amx_bf16"})
      if (line.find(std::string(" ") + f) != std::string::npos) found += std::string(found.empty() ? "" : " ") + f;
    break;
  }
  return found;
}

DeviceFacts probe_device_facts(const LaunchEnv& env) {
  DeviceFacts f;
  f.env = env;
#ifdef TAL_TORCH_CUDA
  f.cuda_built = true;
#endif
  f.visible_gpus = f.cuda_built && at::hasCUDA() ? static_cast<int>(at::getNumGPUs()) : 0;
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  f.visibility_set = visible != nullptr && *visible != '\0';
  return f;
}

}  // namespace tal
