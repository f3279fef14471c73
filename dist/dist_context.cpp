#include "dist/dist_context.h"

#include <mpi.h>

#include <cstdlib>

#include "dist/mpi_communicator.h"
#include "dist/nccl_communicator.h"
#include "base/error.h"
#include "base/suggest.h"

namespace tal {

const std::vector<std::string>& dist_backend_names() {
  static const std::vector<std::string> names = {"auto", "mpi", "nccl", "local"};
  return names;
}

DistContext::DistContext(const std::string& backend, double watchdog_seconds) : env_(detect_launch_env()) {
  TAL_REQUIRE(is_one_of(backend, dist_backend_names()), "key 'dist.backend': unknown '", backend, "' (expected ",
              join_choices(dist_backend_names()), ")");
  const bool launched = env_.launcher != "none";
  if (backend == "local" || (backend == "auto" && !launched)) {
    TAL_REQUIRE(env_.world == 1, "key 'dist.backend': local cannot run ", env_.world, " ranks (", env_.describe(), ")");
    local_ = std::make_unique<LocalCommunicator>();
    comm_ = local_.get();
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
  comm_ = mpi_.get();
  if (backend == "nccl") {
    nccl_ = make_nccl_communicator(*mpi_, env_.local_rank);
    comm_ = nccl_.get();
  }
}

DistContext::~DistContext() {
  comm_ = nullptr;
  nccl_.reset();
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
