#include "dist/dist_context.h"

#include <mpi.h>

#include <cstdlib>

#include "dist/mpi_communicator.h"
#include "dist/nccl_communicator.h"
#include "hypernet/error.h"

namespace tal {

DistContext::DistContext(const std::string& backend, double watchdog_seconds) : env_(detect_launch_env()) {
  TAL_REQUIRE(backend == "auto" || backend == "mpi" || backend == "nccl" || backend == "local",
              "key 'dist.backend': unknown '", backend, "' (expected auto, mpi, nccl or local)");
  const bool launched = env_.launcher != "none";
  if (backend == "local" || (backend == "auto" && !launched)) {
    TAL_REQUIRE(env_.world == 1, "key 'dist.backend': local cannot run ", env_.world, " ranks (", env_.describe(), ")");
    comm_ = std::make_unique<LocalCommunicator>();
    return;
  }
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    we_initialized_mpi_ = true;
  }
  mpi_ = std::make_unique<MpiCommunicator>(MPI_COMM_WORLD, watchdog_seconds);
  if (backend == "nccl") {
    comm_ = make_nccl_communicator(*mpi_, env_.local_rank);
  } else {
    comm_ = std::make_unique<MpiCommunicator>(MPI_COMM_WORLD, watchdog_seconds);
  }
}

DistContext::~DistContext() {
  comm_.reset();
  mpi_.reset();
  if (we_initialized_mpi_) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
}

void DistContext::abort_job(int code) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

}  // namespace tal
