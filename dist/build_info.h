// What the distributed layer of this binary was built with and links at run time.
#pragma once

#include <string>

namespace tal {

struct DistBuildInfo {
  bool nccl = false;         // the NCCL backend was compiled in
  std::string nccl_version;  // the NCCL library's own version ("" without it)
  std::string mpi_library;   // MPI_Get_library_version's first line
  std::string mpi_standard;  // "3.1"
};

// Callable before MPI is initialised, and without a GPU.
DistBuildInfo dist_build_info();

}  // namespace tal
