// Collectives over MPI on CPU tensors. Every collective first checks that all ranks agree on its dtype and shape
// (a mismatch raises on every rank instead of hanging or corrupting), announces its arrival to rank 0, and runs
// non-blocking under a deadline: a collective that does not complete within the watchdog time aborts the job,
// rank 0 naming the ranks that never arrived.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <vector>

#include "dist/communicator.h"

namespace tal {

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(MPI_Comm comm, double watchdog_seconds);
  ~MpiCommunicator() override;
  int rank() const override { return rank_; }
  int world() const override { return world_; }
  std::string backend() const override { return "mpi"; }
  void allreduce_sum(at::Tensor& t, const char* what) override;
  void broadcast(at::Tensor& t, int root, const char* what) override;
  at::Tensor allgather(const at::Tensor& t, const char* what) override;
  void barrier(const char* what) override;
  MPI_Comm comm() const { return comm_; }

 private:
  void check_signature(const at::Tensor& t, const char* what);
  void announce(const char* what);
  void wait(MPI_Request* req, const char* what);
  [[noreturn]] void abort_stalled(const char* what, const std::string& detail);

  MPI_Comm comm_, arrivals_;
  int rank_ = 0, world_ = 1;
  double watchdog_seconds_;
  int64_t seq_ = 0;
};

MPI_Datatype mpi_type(at::ScalarType t);

}  // namespace tal
