// tal info [--json]: what this binary was built with and what it sees here, for people and for launch scripts
// (which choose the NCCL backend only when the binary has it and a GPU is visible).
#include <torch/version.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include <ATen/Parallel.h>

#include "base/error.h"
#include "datasets/h5.h"
#include "dist/build_info.h"
#include "dist/device.h"
#include "dist/launch_env.h"
#include "trainer/cli/commands.h"
#include "trainer/files/build_info.h"
#include "trainer/train/metrics.h"

namespace tal {

int run_info(const Args& args) {
  bool json = false;
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::printf("usage: tal info [--json]\n  what this binary was built with and the devices it sees\n");
      return 0;
    }
    TAL_REQUIRE(a == "--json", "command line: 'tal info' takes only --json, got '", a, "'");
    json = true;
  }
  const auto env = detect_launch_env();
  const auto facts = probe_device_facts(env);
  const auto device = choose_device("auto", facts);
  const auto dist = dist_build_info();
  const bool nccl_usable = dist.nccl && facts.cuda_built && facts.visible_gpus > 0;
  const std::string backend = nccl_usable ? "nccl" : "mpi";
  const std::string bf16 = cpu_bf16_flags();
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  if (json) {
    JsonLine gpu, nccl, mpi, launch;
    gpu.add_bool("cuda_built", facts.cuda_built).add("visible", static_cast<int64_t>(facts.visible_gpus));
    nccl.add_bool("built", dist.nccl).add("version", dist.nccl_version).add_bool("usable", nccl_usable);
    mpi.add("library", dist.mpi_library).add("standard", dist.mpi_standard);
    launch.add("launcher", env.launcher).add("rank", static_cast<int64_t>(env.rank))
        .add("world", static_cast<int64_t>(env.world)).add("local_rank", static_cast<int64_t>(env.local_rank));
    JsonLine out;
    out.add("tal", git_revision()).add("libtorch", TORCH_VERSION).add_json("cuda", gpu.str())
        .add_json("nccl", nccl.str()).add_json("mpi", mpi.str()).add("hdf5", hdf5_version())
        .add("device", device.device).add("backend", backend).add("cpu_bf16", bf16)
        .add("cores", static_cast<int64_t>(cores)).add_json("launch", launch.str());
    std::printf("%s\n", out.str().c_str());
    return 0;
  }
  std::printf("tal       %s\n", git_revision().c_str());
  std::printf("libtorch  %s, CUDA %s\n", TORCH_VERSION, facts.cuda_built ? "yes" : "no");
  std::printf("gpus      %d visible\n", facts.visible_gpus);
  std::printf("nccl      %s%s\n", dist.nccl ? "built" : "not built",
              dist.nccl ? (" (" + dist.nccl_version + (nccl_usable ? ", usable" : ", unusable: no CUDA GPU here") + ")").c_str() : "");
  std::printf("mpi       %s (MPI %s)\n", dist.mpi_library.c_str(), dist.mpi_standard.c_str());
  std::printf("hdf5      %s\n", hdf5_version().c_str());
  std::printf("cpu       %d cores, LibTorch uses %d threads, bf16 instructions: %s\n", cores, at::get_num_threads(),
              bf16.empty() ? "none" : bf16.c_str());
  std::printf("launch    %s\n", env.describe().c_str());
  std::printf("device    %s (%s)\n", device.device.c_str(), device.reason.c_str());
  std::printf("backend   %s for several ranks\n", backend.c_str());
  return 0;
}

}  // namespace tal
