#include "dist/nccl_communicator.h"

#include "base/error.h"

#ifdef TAL_HAVE_NCCL
#include <cuda_runtime.h>
#include <nccl.h>
#endif

namespace tal {

#ifdef TAL_HAVE_NCCL
namespace {

#define NCCL_CHECK(call)                                                                                     \
  do {                                                                                                       \
    const ncclResult_t r_ = (call);                                                                          \
    TAL_REQUIRE(r_ == ncclSuccess, "NCCL error in ", #call, " at ", __FILE__, ":", __LINE__, ": ",           \
                ncclGetErrorString(r_));                                                                     \
  } while (0)
#define CUDA_CHECK(call)                                                                                     \
  do {                                                                                                       \
    const cudaError_t e_ = (call);                                                                           \
    TAL_REQUIRE(e_ == cudaSuccess, "CUDA error in ", #call, " at ", __FILE__, ":", __LINE__, ": ",           \
                cudaGetErrorString(e_));                                                                     \
  } while (0)

ncclDataType_t nccl_type(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return ncclFloat32;
    case at::kDouble: return ncclFloat64;
    case at::kHalf: return ncclFloat16;
    case at::kBFloat16: return ncclBfloat16;
    case at::kLong: return ncclInt64;
    case at::kInt: return ncclInt32;
    case at::kByte: return ncclUint8;
    default: throw Error(std::string("NCCL collectives do not support dtype ") + c10::toString(t));
  }
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(MpiCommunicator& mpi, int local_rank) : mpi_(mpi) {
    int devices = 0;
    CUDA_CHECK(cudaGetDeviceCount(&devices));
    TAL_REQUIRE(devices > 0, "dist.backend=nccl: no CUDA device visible");
    device_ = local_rank % devices;
    CUDA_CHECK(cudaSetDevice(device_));
    ncclUniqueId id;
    if (mpi.rank() == 0) NCCL_CHECK(ncclGetUniqueId(&id));
    auto bytes = at::empty({static_cast<int64_t>(sizeof id)}, at::kByte);
    if (mpi.rank() == 0) std::memcpy(bytes.data_ptr(), &id, sizeof id);
    mpi.broadcast(bytes, 0, "nccl unique id");
    std::memcpy(&id, bytes.data_ptr(), sizeof id);
    NCCL_CHECK(ncclCommInitRank(&comm_, mpi.world(), id, mpi.rank()));
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    // A stalled collective ends the job: the watchdog aborts the communicator first, which also releases a kernel
    // that waits in it.
    mpi.set_abort_hook([this] {
      if (comm_) ncclCommAbort(comm_);
    });
    mpi.barrier("nccl init");
  }
  ~NcclCommunicator() override {
    mpi_.set_abort_hook(nullptr);
    if (comm_) ncclCommDestroy(comm_);
    if (stream_) cudaStreamDestroy(stream_);
  }
  int rank() const override { return mpi_.rank(); }
  int world() const override { return mpi_.world(); }
  std::string backend() const override { return "nccl"; }
  std::vector<std::string> hosts() const override { return mpi_.hosts(); }

  void allreduce_sum(at::Tensor& t, const char* what) override {
    if (!t.is_cuda()) return mpi_.allreduce_sum(t, what);  // small CPU tensors (consensus flags) stay on MPI
    TAL_REQUIRE(t.is_contiguous(), "collective '", what, "': tensor must be contiguous");
    mpi_.guarded(t, what, [&] {
      sync_producer();
      NCCL_CHECK(ncclAllReduce(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()), nccl_type(t.scalar_type()),
                               ncclSum, comm_, stream_));
      CUDA_CHECK(cudaStreamSynchronize(stream_));
    });
  }
  void broadcast(at::Tensor& t, int root, const char* what) override {
    if (!t.is_cuda()) return mpi_.broadcast(t, root, what);
    TAL_REQUIRE(t.is_contiguous(), "collective '", what, "': tensor must be contiguous");
    mpi_.guarded(t, what, [&] {
      sync_producer();
      NCCL_CHECK(ncclBroadcast(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()), nccl_type(t.scalar_type()),
                               root, comm_, stream_));
      CUDA_CHECK(cudaStreamSynchronize(stream_));
    });
  }
  void reduce_sum(at::Tensor& t, int root, const char* what) override {
    if (!t.is_cuda()) return mpi_.reduce_sum(t, root, what);
    TAL_REQUIRE(t.is_contiguous(), "collective '", what, "': tensor must be contiguous");
    mpi_.guarded(t, what, [&] {
      sync_producer();
      NCCL_CHECK(ncclReduce(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()), nccl_type(t.scalar_type()),
                            ncclSum, root, comm_, stream_));
      CUDA_CHECK(cudaStreamSynchronize(stream_));
    });
  }
  at::Tensor allgather(const at::Tensor& t, const char* what) override {
    if (!t.is_cuda()) return mpi_.allgather(t, what);
    const auto in = t.contiguous();
    std::vector<int64_t> shape = {world()};
    shape.insert(shape.end(), in.sizes().begin(), in.sizes().end());
    auto out = at::empty(shape, in.options());
    mpi_.guarded(in, what, [&] {
      sync_producer();
      NCCL_CHECK(ncclAllGather(in.data_ptr(), out.data_ptr(), static_cast<size_t>(in.numel()),
                               nccl_type(in.scalar_type()), comm_, stream_));
      CUDA_CHECK(cudaStreamSynchronize(stream_));
    });
    return out;
  }
  void barrier(const char* what) override { mpi_.barrier(what); }

 private:
  // Kernels that produced the tensor run on the current stream; ours must see their results.
  void sync_producer() { CUDA_CHECK(cudaDeviceSynchronize()); }
  MpiCommunicator& mpi_;
  int device_ = 0;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace

bool nccl_available(std::string* why_not) {
  int devices = 0;
  const cudaError_t e = cudaGetDeviceCount(&devices);
  if (e != cudaSuccess || devices == 0) {
    if (why_not) *why_not = e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device";
    return false;
  }
  return true;
}

std::unique_ptr<Communicator> make_nccl_communicator(MpiCommunicator& mpi, int local_rank) {
  std::string why;
  TAL_REQUIRE(nccl_available(&why), "dist.backend=nccl: cannot use a GPU here (", why, ")");
  return std::make_unique<NcclCommunicator>(mpi, local_rank);
}

#else

bool nccl_available(std::string* why_not) {
  if (why_not) *why_not = "this build has no NCCL backend (configure with the CUDA toolkit and NCCL present)";
  return false;
}

std::unique_ptr<Communicator> make_nccl_communicator(MpiCommunicator&, int) {
  std::string why;
  nccl_available(&why);
  throw Error("dist.backend=nccl: " + why);
}

#endif

}  // namespace tal
