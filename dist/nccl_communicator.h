// Collectives over NCCL on CUDA tensors, bootstrapped by broadcasting the NCCL unique id over MPI, with its own
// CUDA stream. Signature checks and the watchdog's arrival protocol go through the MPI communicator it wraps.
// Compiled wherever the CUDA toolkit and NCCL are found (TAL_HAVE_NCCL); it runs only where a GPU is.
#pragma once

#include <memory>

#include "dist/communicator.h"
#include "dist/mpi_communicator.h"

namespace tal {

// Whether this process can use NCCL: compiled in, and a CUDA device visible.
bool nccl_available(std::string* why_not);

// Throws with a clear reason where NCCL cannot run. `local_rank` picks the GPU.
std::unique_ptr<Communicator> make_nccl_communicator(MpiCommunicator& mpi, int local_rank);

}  // namespace tal
