#include <gtest/gtest.h>

#include <map>

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

}  // namespace
}  // namespace tal
