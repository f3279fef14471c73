#include "dist/build_info.h"

#include <mpi.h>

#ifdef TAL_HAVE_NCCL
#include <nccl.h>
#endif

namespace tal {

DistBuildInfo dist_build_info() {
  DistBuildInfo b;
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  MPI_Get_library_version(text, &length);
  b.mpi_library.assign(text, static_cast<size_t>(length));
  const auto eol = b.mpi_library.find_first_of("\r\n,");
  if (eol != std::string::npos) b.mpi_library.resize(eol);
  int major = 0, minor = 0;
  MPI_Get_version(&major, &minor);
  b.mpi_standard = std::to_string(major) + "." + std::to_string(minor);
#ifdef TAL_HAVE_NCCL
  b.nccl = true;
  int v = 0;
  if (ncclGetVersion(&v) == ncclSuccess)
    b.nccl_version = std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
#endif
  return b;
}

}  // namespace tal
