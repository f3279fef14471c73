// One communicator interface over the backends chosen at run time: MPI (CPU tensors), NCCL (CUDA tensors) and a
// single process. Collectives take tensors and work in place where a result has the input's shape.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace tal {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world() const = 0;
  virtual std::string backend() const = 0;
  // Each rank's host name, in rank order (gathered once when the communicator is made).
  virtual std::vector<std::string> hosts() const = 0;
  // "2 ranks on 2 hosts: h1 [0], h2 [1]" (ranks per host as ranges).
  std::string describe_hosts() const;

  // `what` names the collective in errors and watchdog messages.
  virtual void allreduce_sum(at::Tensor& t, const char* what = "allreduce") = 0;
  void allreduce_mean(at::Tensor& t, const char* what = "allreduce") {
    allreduce_sum(t, what);
    if (world() > 1) t.div_(world());
  }
  virtual void broadcast(at::Tensor& t, int root, const char* what = "broadcast") = 0;
  // The sum over ranks into `t` on `root` (other ranks' `t` is left as it was): half the traffic of an all-reduce
  // when only one rank needs the sum.
  virtual void reduce_sum(at::Tensor& t, int root, const char* what = "reduce") = 0;
  // [world, *t.shape]: every rank's tensor, in rank order.
  virtual at::Tensor allgather(const at::Tensor& t, const char* what = "allgather") = 0;
  virtual void barrier(const char* what = "barrier") = 0;
  // Consensus at a step boundary: true on every rank if `flag` is true on any.
  bool any(bool flag, const char* what = "consensus") {
    auto t = at::full({1}, flag ? 1 : 0, at::kInt);
    allreduce_sum(t, what);
    return t.item<int>() > 0;
  }
  // The ranks whose `flag` is true, on every rank.
  std::vector<int> ranks_where(bool flag, const char* what = "consensus") {
    const auto all = allgather(at::full({1}, flag ? 1 : 0, at::kInt), what);
    std::vector<int> out;
    for (int r = 0; r < world(); ++r)
      if (all[r][0].item<int>()) out.push_back(r);
    return out;
  }
};

// What every rank must agree on before a collective: dtype, device type, rank, element count and the first three
// dims. A CPU tensor on one rank and a CUDA tensor on another (one rank fell back to the CPU) disagree here.
constexpr int kSignatureLength = 7;
struct CollectiveSignature {
  int64_t v[kSignatureLength] = {};
};
CollectiveSignature collective_signature(const at::Tensor& t);
// "Float on cpu with 12 elements".
std::string describe_signature(const CollectiveSignature& s);

// World size 1: every collective is the identity.
class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world() const override { return 1; }
  std::string backend() const override { return "local"; }
  std::vector<std::string> hosts() const override;
  void allreduce_sum(at::Tensor&, const char*) override {}
  void broadcast(at::Tensor&, int, const char*) override {}
  void reduce_sum(at::Tensor&, int, const char*) override {}
  at::Tensor allgather(const at::Tensor& t, const char*) override { return t.unsqueeze(0).clone(); }
  void barrier(const char*) override {}
};

}  // namespace tal
