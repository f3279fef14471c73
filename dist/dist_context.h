// Owns the process's distributed runtime: MPI initialisation and finalisation and the communicator chosen for
// this run. Made once in main (through the Runtime) and destroyed last; nothing reads it through globals.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "dist/launch_env.h"

namespace tal {

class MpiCommunicator;

// auto (MPI when launched as several ranks, else local) | mpi | nccl | local.
const std::vector<std::string>& dist_backend_names();

class DistContext {
 public:
  // `backend`: one of dist_backend_names().
  DistContext(const std::string& backend, double watchdog_seconds);
  ~DistContext();
  DistContext(const DistContext&) = delete;
  DistContext& operator=(const DistContext&) = delete;

  Communicator& comm() { return *comm_; }
  const LaunchEnv& env() const { return env_; }
  // Ends every rank of the job (MPI_Abort) after an error on this one; a no-op in a single process.
  [[noreturn]] static void abort_job(int code);

 private:
  LaunchEnv env_;
  bool we_initialized_mpi_ = false;
  std::unique_ptr<MpiCommunicator> mpi_;   // the MPI backend, and the side channel NCCL is bootstrapped over
  std::unique_ptr<Communicator> nccl_;
  std::unique_ptr<Communicator> local_;
  Communicator* comm_ = nullptr;           // the one of the above this run uses
};

}  // namespace tal
