// Owns the process's distributed runtime: MPI initialisation and finalisation and the communicator chosen for
// this run. Made once in main (through the Runtime) and destroyed last; nothing reads it through globals.
#pragma once

#include <memory>
#include <string>

#include "dist/communicator.h"
#include "dist/launch_env.h"

namespace tal {

class MpiCommunicator;

class DistContext {
 public:
  // backend: auto (MPI when launched as several ranks, else local) | mpi | nccl | local.
  DistContext(const std::string& backend, double watchdog_seconds);
  ~DistContext();
  DistContext(const DistContext&) = delete;
  DistContext& operator=(const DistContext&) = delete;

  Communicator& comm() { return *comm_; }
  const LaunchEnv& env() const { return env_; }
  bool mpi_initialized() const { return we_initialized_mpi_; }
  // Ends every rank of the job (MPI_Abort) after an error on this one; a no-op in a single process.
  [[noreturn]] static void abort_job(int code);

 private:
  LaunchEnv env_;
  bool we_initialized_mpi_ = false;
  std::unique_ptr<MpiCommunicator> mpi_;
  std::unique_ptr<Communicator> comm_;
};

}  // namespace tal
