// Collectives over MPI on CPU tensors. Every collective first announces its arrival to rank 0 (which waits under a
// deadline and names the ranks that never arrive), then checks that all ranks agree on its dtype and shape (a
// mismatch raises on every rank instead of hanging or corrupting), then runs the blocking MPI call (Open MPI's
// tuned algorithms; its non-blocking ones reach half the bandwidth) under a watchdog thread that ends the process
// if the call outlives the deadline, so mpirun tears the job down.
#pragma once

#include <mpi.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "dist/communicator.h"
#include "dist/heartbeat.h"

namespace tal {

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(MPI_Comm comm, double watchdog_seconds);
  ~MpiCommunicator() override;
  int rank() const override { return rank_; }
  int world() const override { return world_; }
  std::string backend() const override { return "mpi"; }
  std::vector<std::string> hosts() const override { return hosts_; }
  void allreduce_sum(at::Tensor& t, const char* what) override;
  void broadcast(at::Tensor& t, int root, const char* what) override;
  void reduce_sum(at::Tensor& t, int root, const char* what) override;
  at::Tensor allgather(const at::Tensor& t, const char* what) override;
  void barrier(const char* what) override;
  MPI_Comm comm() const { return comm_; }
  // For a backend whose collectives run on another transport (NCCL on GPUs): the same guarantees around `run`,
  // which must perform the collective and wait for it. Arrival is announced (rank 0 names late ranks), dtype and
  // shape are agreed across ranks through MPI, and the watchdog ends the job if `run` outlives the deadline.
  void guarded(const at::Tensor& t, const char* what, const std::function<void()>& run);
  // Runs on the watchdog's thread before a stalled job is ended (e.g. ncclCommAbort, so a GPU kernel stuck in a
  // collective does not keep the process alive).
  void set_abort_hook(std::function<void()> hook) { abort_hook_ = std::move(hook); }

 private:
  void check_signature(const at::Tensor& t, const char* what);
  // Announces, checks the signature and arms the watchdog, then runs OP over T's storage in MPI-sized chunks.
  void chunked(at::Tensor& t, const char* what, const std::function<void(void*, int, MPI_Datatype)>& op);
  void announce(const char* what);
  [[noreturn]] void abort_stalled(const char* what, const std::string& detail);
  std::string rank_and_host(int r) const;  // "1 (on h2)"
  // Seconds after which rank 0 names late or silent ranks: watchdog / 30, at least 5 s, at most half the watchdog.
  double warn_after() const;
  void arm(const char* what);
  void disarm();
  void watchdog_loop();

  MPI_Comm comm_, arrivals_;
  int rank_ = 0, world_ = 1;
  double watchdog_seconds_;
  int64_t seq_ = 0;
  std::vector<std::string> hosts_;  // MPI_Get_processor_name of every rank
  std::unique_ptr<Heartbeat> heartbeat_;  // rank 0 names ranks that go silent (world > 1)
  // Watchdog over blocking calls.
  std::mutex mutex_;
  std::condition_variable cv_;
  bool armed_ = false, stopping_ = false;
  const char* armed_what_ = "";
  std::chrono::steady_clock::time_point deadline_;
  std::thread watchdog_;
  std::function<void()> abort_hook_;
};

MPI_Datatype mpi_type(at::ScalarType t);

}  // namespace tal
