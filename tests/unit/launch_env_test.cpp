#include <gtest/gtest.h>

#include <map>

#include "dist/communicator.h"
#include "dist/device.h"
#include "dist/launch_env.h"
#include "base/error.h"

namespace tal {
namespace {

LaunchEnv detect(const std::map<std::string, std::string>& vars) {
  return detect_launch_env([&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

TEST(LaunchEnv, DetectsEachLauncher) {
  auto none = detect({});
  EXPECT_EQ(none.launcher, "none");
  EXPECT_EQ(none.world, 1);
  auto ompi = detect({{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_RANK", "2"},
                      {"OMPI_COMM_WORLD_LOCAL_RANK", "0"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}});
  EXPECT_EQ(ompi.launcher, "openmpi");
  EXPECT_EQ(ompi.rank, 2);
  EXPECT_EQ(ompi.world, 4);
  EXPECT_EQ(ompi.local_world, 2);
  auto slurm = detect({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"}});
  EXPECT_EQ(slurm.launcher, "slurm");
  EXPECT_EQ(slurm.rank, 5);
  EXPECT_EQ(slurm.local_rank, 1);
  auto pmix = detect({{"PMIX_RANK", "1"}, {"PMIX_SIZE", "2"}});
  EXPECT_EQ(pmix.launcher, "pmix");
  EXPECT_EQ(pmix.rank, 1);
}

TEST(LaunchEnv, RejectsInconsistentEnvironments) {
  EXPECT_THROW(detect({{"SLURM_PROCID", "8"}, {"SLURM_NTASKS", "8"}}), Error);
  EXPECT_THROW(detect({{"OMPI_COMM_WORLD_SIZE", "two"}}), Error);
}

// The device is a pure function of (key, build, visible GPUs, the launcher's local rank).
DeviceChoice choose(const std::string& key, bool cuda, int gpus, const std::map<std::string, std::string>& vars,
                    bool visibility_set = false) {
  DeviceFacts f;
  f.cuda_built = cuda;
  f.visible_gpus = gpus;
  f.visibility_set = visibility_set;
  f.env = detect(vars);
  return choose_device(key, f);
}

TEST(Device, ChoosesByBuildGpusAndLocalRank) {
  const std::map<std::string, std::string> ompi_rank3 = {{"OMPI_COMM_WORLD_SIZE", "8"}, {"OMPI_COMM_WORLD_RANK", "7"},
                                                         {"OMPI_COMM_WORLD_LOCAL_RANK", "3"},
                                                         {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}};
  const std::map<std::string, std::string> slurm_local1 = {{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"},
                                                           {"SLURM_LOCALID", "1"}};
  const std::map<std::string, std::string> pmix_local2 = {{"PMIX_RANK", "2"}, {"PMIX_SIZE", "4"},
                                                          {"PMIX_LOCAL_RANK", "2"}};
  EXPECT_EQ(choose("auto", false, 0, {}).device, "cpu");                // CPU build
  EXPECT_EQ(choose("auto", false, 4, ompi_rank3).device, "cpu");        // CPU build on a GPU node
  EXPECT_EQ(choose("auto", true, 0, ompi_rank3).device, "cpu");         // CUDA build, no GPU visible
  EXPECT_EQ(choose("auto", true, 4, ompi_rank3).device, "cuda:3");      // one GPU per local rank
  EXPECT_EQ(choose("cuda", true, 4, slurm_local1).device, "cuda:1");
  EXPECT_EQ(choose("auto", true, 4, pmix_local2).device, "cuda:2");
  EXPECT_EQ(choose("auto", true, 1, ompi_rank3, true).device, "cuda:0");  // CUDA_VISIBLE_DEVICES gave it one GPU
  EXPECT_EQ(choose("auto", true, 1, {}).device, "cuda:0");              // one process, one GPU
  EXPECT_EQ(choose("cpu", true, 4, ompi_rank3).device, "cpu");          // asked for the CPU
  EXPECT_EQ(choose("auto", true, 2, {}).device, "cuda:0");              // one process, no launcher
  EXPECT_NE(choose("auto", false, 0, {}).reason.find("without CUDA"), std::string::npos);
}

TEST(Device, RefusesWhatCannotBeMet) {
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  const std::map<std::string, std::string> local3 = {{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_RANK", "3"},
                                                     {"OMPI_COMM_WORLD_LOCAL_RANK", "3"},
                                                     {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}};
  EXPECT_NE(message([&] { choose("cuda", false, 0, {}); }).find("key 'device': cuda requested but this binary"),
            std::string::npos);
  EXPECT_NE(message([&] { choose("cuda", true, 0, {}); }).find("no CUDA device is visible"), std::string::npos);
  // More ranks on a node than GPUs: device=cuda is refused on every rank (rank 0 too), naming the counts; auto
  // takes the CPU on every rank and says why.
  const std::map<std::string, std::string> local0 = {{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_RANK", "0"},
                                                     {"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
                                                     {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}};
  for (const auto* env : {&local3, &local0}) {
    EXPECT_NE(message([&] { choose("cuda", true, 2, *env); }).find("4 ranks on this node but only 2 GPU(s) visible"),
              std::string::npos);
    const auto fallback = choose("auto", true, 2, *env);
    EXPECT_EQ(fallback.device, "cpu");
    EXPECT_NE(fallback.reason.find("4 ranks on this node but only 2 GPU(s)"), std::string::npos) << fallback.reason;
  }
  // Four ranks that all see the node's one GPU (no CUDA_VISIBLE_DEVICES of their own) would share it.
  EXPECT_NE(message([&] { choose("cuda", true, 1, local0); }).find("4 ranks on this node but only 1 GPU(s)"),
            std::string::npos);
  EXPECT_EQ(choose("auto", true, 1, local0).device, "cpu");  // mpirun -np 4 with the defaults on a one-GPU node
  EXPECT_NE(message([&] { choose("gpu", true, 2, {}); }).find("key 'device': 'gpu'"), std::string::npos);
}

// Collectives compare dtype, device type and shape on every rank: a rank that fell back to the CPU is named.
TEST(Collective, SignatureHasTheDeviceType) {
  const auto cpu = collective_signature(at::zeros({3, 4}));
  const auto meta = collective_signature(at::empty({3, 4}, at::TensorOptions().device(at::kMeta)));
  const auto other = collective_signature(at::zeros({4, 3}));
  EXPECT_NE(cpu.v[1], meta.v[1]);
  EXPECT_NE(cpu.v[4], other.v[4]);
  EXPECT_EQ(describe_signature(cpu), "Float on cpu with 12 elements");
  EXPECT_EQ(describe_signature(meta), "Float on meta with 12 elements");
}

}  // namespace
}  // namespace tal
