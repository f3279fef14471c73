#include "dist/device.h"

#include <ATen/Context.h>

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
  if (f.visible_gpus == 1)
    return {"cuda:0", "device=" + key + ": the one visible GPU (local rank " + std::to_string(f.env.local_rank) + ")"};
  TAL_REQUIRE(f.env.local_rank < f.visible_gpus, "key 'device': local rank ", f.env.local_rank, " of ",
              f.env.local_world, " on this node but only ", f.visible_gpus,
              " GPUs visible (start one rank per GPU, or device=cpu)");
  return {"cuda:" + std::to_string(f.env.local_rank),
          "device=" + key + ": GPU " + std::to_string(f.env.local_rank) + " of " + std::to_string(f.visible_gpus) +
              " visible, by local rank"};
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
  return f;
}

}  // namespace tal
