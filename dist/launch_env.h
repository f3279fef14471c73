// Where this process sits in a job: rank, world size and local rank, read from whichever launcher started it
// (Open MPI's mpirun, SLURM's srun, a PMIx launcher) or a single process when none did.
#pragma once

#include <functional>
#include <string>

namespace tal {

struct LaunchEnv {
  std::string launcher = "none";  // openmpi | slurm | pmix | none
  int rank = 0;
  int world = 1;
  int local_rank = 0;
  int local_world = 1;
  std::string describe() const;
};

// `getenv` is a parameter so tests can feed any environment.
LaunchEnv detect_launch_env(const std::function<const char*(const char*)>& getenv_fn);
LaunchEnv detect_launch_env();

}  // namespace tal
