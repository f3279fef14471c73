#include "dist/launch_env.h"

#include <cerrno>
#include <cstdlib>

#include "base/error.h"

namespace tal {
namespace {

int read_int(const std::function<const char*(const char*)>& env, const char* name, int fallback) {
  const char* v = env(name);
  if (!v || !*v) return fallback;
  errno = 0;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  TAL_REQUIRE(*end == '\0' && errno == 0 && x >= 0, "environment variable ", name, "='", v,
              "' is not a non-negative integer");
  return static_cast<int>(x);
}

}  // namespace

std::string LaunchEnv::describe() const {
  return "launcher=" + launcher + " rank=" + std::to_string(rank) + "/" + std::to_string(world) +
         " local_rank=" + std::to_string(local_rank) + "/" + std::to_string(local_world);
}

LaunchEnv detect_launch_env(const std::function<const char*(const char*)>& env) {
  LaunchEnv e;
  if (env("OMPI_COMM_WORLD_SIZE")) {
    e.launcher = "openmpi";
    e.rank = read_int(env, "OMPI_COMM_WORLD_RANK", 0);
    e.world = read_int(env, "OMPI_COMM_WORLD_SIZE", 1);
    e.local_rank = read_int(env, "OMPI_COMM_WORLD_LOCAL_RANK", 0);
    e.local_world = read_int(env, "OMPI_COMM_WORLD_LOCAL_SIZE", 1);
  } else if (env("PMIX_RANK") && env("PMIX_SIZE")) {
    e.launcher = "pmix";
    e.rank = read_int(env, "PMIX_RANK", 0);
    e.world = read_int(env, "PMIX_SIZE", 1);
    e.local_rank = read_int(env, "PMIX_LOCAL_RANK", 0);
    e.local_world = read_int(env, "PMIX_LOCAL_SIZE", 1);
  } else if (env("SLURM_PROCID") && env("SLURM_NTASKS")) {
    e.launcher = "slurm";
    e.rank = read_int(env, "SLURM_PROCID", 0);
    e.world = read_int(env, "SLURM_NTASKS", 1);
    e.local_rank = read_int(env, "SLURM_LOCALID", 0);
    e.local_world = read_int(env, "SLURM_NTASKS_PER_NODE", 1);
  }
  TAL_REQUIRE(e.world >= 1 && e.rank < e.world, "launcher ", e.launcher, " reports rank ", e.rank,
              " outside world size ", e.world);
  return e;
}

LaunchEnv detect_launch_env() {
  return detect_launch_env([](const char* name) { return std::getenv(name); });
}

}  // namespace tal
