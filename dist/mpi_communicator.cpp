#include "dist/mpi_communicator.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <string>
#include <thread>

#include "base/error.h"

namespace tal {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kArrivalTag = 17;

#define MPI_CHECK(call)                                                                                  \
  do {                                                                                                   \
    const int rc_ = (call);                                                                              \
    if (rc_ != MPI_SUCCESS) {                                                                            \
      char msg_[MPI_MAX_ERROR_STRING];                                                                   \
      int len_ = 0;                                                                                      \
      MPI_Error_string(rc_, msg_, &len_);                                                                \
      throw ::tal::Error(std::string("MPI error in ") + #call + " at " + __FILE__ + ":" +                \
                         std::to_string(__LINE__) + ": " + std::string(msg_, static_cast<size_t>(len_))); \
    }                                                                                                    \
  } while (0)

// Element counts above INT_MAX go in chunks (MPI counts are int).
constexpr int64_t kChunk = INT_MAX / 2;

}  // namespace

MPI_Datatype mpi_type(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return MPI_FLOAT;
    case at::kDouble: return MPI_DOUBLE;
    case at::kLong: return MPI_INT64_T;
    case at::kInt: return MPI_INT32_T;
    case at::kByte: return MPI_UINT8_T;
    case at::kChar: return MPI_INT8_T;
    default: throw Error(std::string("MPI collectives do not support dtype ") + c10::toString(t));
  }
}

MpiCommunicator::MpiCommunicator(MPI_Comm comm, double watchdog_seconds) : watchdog_seconds_(watchdog_seconds) {
  MPI_CHECK(MPI_Comm_dup(comm, &comm_));
  MPI_CHECK(MPI_Comm_dup(comm, &arrivals_));
  MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  MPI_CHECK(MPI_Comm_size(comm_, &world_));
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  MPI_CHECK(MPI_Get_processor_name(name, &length));
  std::vector<char> all(static_cast<size_t>(world_) * MPI_MAX_PROCESSOR_NAME, '\0');
  MPI_CHECK(MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, comm_));
  for (int r = 0; r < world_; ++r) hosts_.emplace_back(all.data() + static_cast<size_t>(r) * MPI_MAX_PROCESSOR_NAME);
  if (world_ > 1) {
    auto share = [this](const std::string& text) {
      int64_t n = static_cast<int64_t>(text.size());
      MPI_CHECK(MPI_Bcast(&n, 1, MPI_INT64_T, 0, comm_));
      std::string out(static_cast<size_t>(n), '\0');
      if (rank_ == 0) out = text;
      if (n > 0) MPI_CHECK(MPI_Bcast(out.data(), static_cast<int>(n), MPI_CHAR, 0, comm_));
      return out;
    };
    heartbeat_ = std::make_unique<Heartbeat>(rank_, world_, hosts_, warn_after(), share);
  }
  watchdog_ = std::thread([this] { watchdog_loop(); });
}

double MpiCommunicator::warn_after() const {
  return std::min(std::max(5.0, watchdog_seconds_ / 30), watchdog_seconds_ / 2);
}

std::string MpiCommunicator::rank_and_host(int r) const {
  return std::to_string(r) + " (on " + hosts_[static_cast<size_t>(r)] + ")";
}

void MpiCommunicator::watchdog_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (!armed_) {
      cv_.wait(lock);
      continue;
    }
    if (cv_.wait_until(lock, deadline_) == std::cv_status::timeout && armed_ && Clock::now() >= deadline_) {
      // Only async-signal-safe-ish work here: the main thread is stuck inside MPI.
      std::fprintf(stderr,
                   "tal: error [rank %d]: collective #%lld '%s' did not complete within %.0f s (a rank died or stalled); "
                   "ending this process so the launcher stops the job\n",
                   rank_, static_cast<long long>(seq_), armed_what_, watchdog_seconds_);
      std::fflush(stderr);
      if (abort_hook_) abort_hook_();  // e.g. ncclCommAbort: a GPU collective stuck in its kernel
      std::_Exit(3);
    }
  }
}

void MpiCommunicator::arm(const char* what) {
  std::lock_guard<std::mutex> lock(mutex_);
  armed_ = true;
  armed_what_ = what;
  deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(watchdog_seconds_));
  cv_.notify_all();
}

void MpiCommunicator::disarm() {
  std::lock_guard<std::mutex> lock(mutex_);
  armed_ = false;
  cv_.notify_all();
}

MpiCommunicator::~MpiCommunicator() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (watchdog_.joinable()) watchdog_.join();
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) {
    MPI_Comm_free(&arrivals_);
    MPI_Comm_free(&comm_);
  }
}

void MpiCommunicator::abort_stalled(const char* what, const std::string& detail) {
  std::fprintf(stderr, "tal: error [rank %d]: collective #%lld '%s' did not complete within %.0f s: %s; aborting the job\n",
               rank_, static_cast<long long>(seq_), what, watchdog_seconds_, detail.c_str());
  std::fflush(stderr);
  if (abort_hook_) abort_hook_();
  MPI_Abort(MPI_COMM_WORLD, 3);
  std::abort();
}

void MpiCommunicator::announce(const char* what) {
  ++seq_;
  if (world_ == 1) return;
  if (rank_ != 0) {
    MPI_CHECK(MPI_Send(&seq_, 1, MPI_INT64_T, 0, kArrivalTag, arrivals_));
    return;
  }
  // Rank 0 waits for every rank's arrival under the deadline, so it can name those that never come.
  std::vector<int64_t> got(static_cast<size_t>(world_), -1);
  std::vector<MPI_Request> reqs(static_cast<size_t>(world_), MPI_REQUEST_NULL);
  for (int r = 1; r < world_; ++r)
    MPI_CHECK(MPI_Irecv(&got[static_cast<size_t>(r)], 1, MPI_INT64_T, r, kArrivalTag, arrivals_, &reqs[static_cast<size_t>(r)]));
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(watchdog_seconds_);
  // A warning naming the late ranks comes well before the deadline: when a host drops off the network, the
  // launcher's own keepalive usually ends the job first, and this line is then what says which rank was lost.
  const auto warn_at = start + std::chrono::duration<double>(warn_after());
  bool warned = false;
  auto missing = [&] {
    std::string out;
    for (int r = 1; r < world_; ++r) {
      int done = 0;
      if (reqs[static_cast<size_t>(r)] != MPI_REQUEST_NULL) MPI_Test(&reqs[static_cast<size_t>(r)], &done, MPI_STATUS_IGNORE);
      if (reqs[static_cast<size_t>(r)] != MPI_REQUEST_NULL && !done) out += (out.empty() ? "" : ", ") + rank_and_host(r);
    }
    return out;
  };
  int spins = 0;
  while (true) {
    int all = 0;
    MPI_CHECK(MPI_Testall(world_, reqs.data(), &all, MPI_STATUSES_IGNORE));
    if (all) break;
    const auto t = Clock::now();
    if (t > deadline) abort_stalled(what, "rank(s) " + missing() + " did not arrive");
    if (!warned && t > warn_at) {
      warned = true;
      std::fprintf(stderr, "tal: warning [rank 0]: collective #%lld '%s': rank(s) %s not arrived after %.0f s (still "
                   "waiting; the watchdog ends the job at %.0f s)\n", static_cast<long long>(seq_), what,
                   missing().c_str(), warn_after(), watchdog_seconds_);
      std::fflush(stderr);
    }
    if (++spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(spins > 100000 ? 1000 : 20));
  }
  for (int r = 1; r < world_; ++r)
    TAL_REQUIRE(got[static_cast<size_t>(r)] == seq_, "collective '", what, "': rank ", r, " is at collective #",
                got[static_cast<size_t>(r)], ", rank 0 at #", seq_, " (ranks out of step)");
}

void MpiCommunicator::check_signature(const at::Tensor& t, const char* what) {
  // Enough to tell tensors apart (collective_signature), gathered from every rank.
  const CollectiveSignature mine = collective_signature(t);
  std::vector<CollectiveSignature> all(static_cast<size_t>(world_));
  arm(what);
  MPI_CHECK(MPI_Allgather(mine.v, kSignatureLength, MPI_INT64_T, all.data(), kSignatureLength, MPI_INT64_T, comm_));
  disarm();
  for (int r = 1; r < world_; ++r)
    if (!std::equal(all[static_cast<size_t>(r)].v, all[static_cast<size_t>(r)].v + kSignatureLength, all[0].v))
      throw Error(std::string("collective '") + what + "': ranks disagree: rank 0 has " + describe_signature(all[0]) +
                  ", rank " + std::to_string(r) + " has " + describe_signature(all[static_cast<size_t>(r)]));
}

void MpiCommunicator::chunked(at::Tensor& t, const char* what, const std::function<void(void*, int, MPI_Datatype)>& op) {
  announce(what);
  check_signature(t, what);
  const auto type = mpi_type(t.scalar_type());
  auto* base = static_cast<char*>(t.data_ptr());
  arm(what);
  for (int64_t off = 0; off < t.numel(); off += kChunk)
    op(base + off * t.element_size(), static_cast<int>(std::min(kChunk, t.numel() - off)), type);
  disarm();
}

void MpiCommunicator::allreduce_sum(at::Tensor& t, const char* what) {
  TAL_REQUIRE(t.device().is_cpu(), "collective '", what, "': the MPI backend takes CPU tensors (use dist.backend=nccl for CUDA)");
  TAL_REQUIRE(t.is_contiguous(), "collective '", what, "': tensor must be contiguous");
  chunked(t, what, [&](void* buf, int n, MPI_Datatype type) {
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, buf, n, type, MPI_SUM, comm_));
  });
}

void MpiCommunicator::broadcast(at::Tensor& t, int root, const char* what) {
  TAL_REQUIRE(t.device().is_cpu() && t.is_contiguous(), "collective '", what, "': needs a contiguous CPU tensor");
  chunked(t, what, [&](void* buf, int n, MPI_Datatype type) { MPI_CHECK(MPI_Bcast(buf, n, type, root, comm_)); });
}

void MpiCommunicator::reduce_sum(at::Tensor& t, int root, const char* what) {
  TAL_REQUIRE(t.device().is_cpu() && t.is_contiguous(), "collective '", what, "': needs a contiguous CPU tensor");
  TAL_REQUIRE(root >= 0 && root < world_, "collective '", what, "': root ", root, " outside ", world_, " ranks");
  const bool is_root = rank_ == root;
  chunked(t, what, [&](void* buf, int n, MPI_Datatype type) {
    MPI_CHECK(MPI_Reduce(is_root ? MPI_IN_PLACE : buf, is_root ? buf : nullptr, n, type, MPI_SUM, root, comm_));
  });
}

at::Tensor MpiCommunicator::allgather(const at::Tensor& t_in, const char* what) {
  const auto t = t_in.contiguous();
  TAL_REQUIRE(t.device().is_cpu(), "collective '", what, "': needs a CPU tensor");
  TAL_REQUIRE(t.numel() <= kChunk, "collective '", what, "': allgather of ", t.numel(), " elements is too large");
  announce(what);
  check_signature(t, what);
  std::vector<int64_t> shape = {world_};
  shape.insert(shape.end(), t.sizes().begin(), t.sizes().end());
  auto out = at::empty(shape, t.options());
  const auto type = mpi_type(t.scalar_type());
  arm(what);
  MPI_CHECK(MPI_Allgather(t.data_ptr(), static_cast<int>(t.numel()), type, out.data_ptr(), static_cast<int>(t.numel()),
                          type, comm_));
  disarm();
  return out;
}

void MpiCommunicator::guarded(const at::Tensor& t, const char* what, const std::function<void()>& run) {
  announce(what);
  check_signature(t, what);
  arm(what);
  struct Disarm {
    MpiCommunicator* self;
    ~Disarm() { self->disarm(); }
  } disarm_on_exit{this};
  run();
}

void MpiCommunicator::barrier(const char* what) {
  announce(what);
  arm(what);
  MPI_CHECK(MPI_Barrier(comm_));
  disarm();
}

}  // namespace tal
