#include "trainer/train/model_state.h"

#include <algorithm>

#include "base/error.h"
#include "dist/communicator.h"

namespace tal {

ModelState::ModelState(NamedTensors n, double weight_decay, bool with_ema) : named(std::move(n)) {
  for (auto& [name, p] : named) params.push_back(p);
  reset_optimizer(weight_decay);
  if (with_ema)
    for (const auto& p : params) ema.push_back(p.detach().clone());
}

void ModelState::reset_optimizer(double weight_decay) {
  optim = std::make_unique<AdamW>(params, AdamWConfig{0.9, 0.999, 1e-8, weight_decay});
}

int64_t ModelState::numel() const {
  int64_t n = 0;
  for (const auto& p : params) n += p.numel();
  return n;
}

void ModelState::broadcast_from_rank0(Communicator& comm) {
  auto flat = at::zeros({numel()}, params.front().options().requires_grad(false));
  int64_t off = 0;
  for (const auto& p : params) {
    flat.narrow(0, off, p.numel()).copy_(p.detach().reshape({-1}));
    off += p.numel();
  }
  comm.broadcast(flat, 0, "initial parameters");
  {
    at::NoGradGuard guard;
    off = 0;
    for (auto& p : params) {
      p.copy_(flat.narrow(0, off, p.numel()).view_as(p));
      off += p.numel();
    }
  }
  std::vector<at::Tensor> doubles;
  for (const auto& p : params) doubles.push_back(p.detach().flatten().to(at::kDouble));
  const double sum = at::cat(doubles).sum().item<double>();
  const auto sums = comm.allgather(at::tensor({sum}, at::kDouble), "parameter checksum");
  for (int r = 1; r < comm.world(); ++r)
    TAL_REQUIRE(sums[r][0].item<double>() == sums[0][0].item<double>(), "parameters differ on rank ", r,
                " after the initial broadcast");
}

void ModelState::capture(Checkpoint& c) const {
  for (size_t i = 0; i < named.size(); ++i) {
    // CPU copies: a checkpoint loads onto any device.
    auto host = [](const at::Tensor& t) { return t.detach().to(at::kCPU, /*non_blocking=*/false, /*copy=*/true); };
    c.weights.emplace_back(named[i].first, host(params[i]));
    c.exp_avg.emplace_back(named[i].first, host(optim->exp_avg()[i]));
    c.exp_avg_sq.emplace_back(named[i].first, host(optim->exp_avg_sq()[i]));
    if (!ema.empty()) c.ema.emplace_back(named[i].first, host(ema[i]));
  }
}

void ModelState::restore(const std::string& path, const Checkpoint& c) {
  check_compatible(path, c, named);
  at::NoGradGuard guard;
  for (size_t i = 0; i < params.size(); ++i) {
    params[i].copy_(c.weights[i].second);
    optim->exp_avg()[i].copy_(c.exp_avg[i].second);
    optim->exp_avg_sq()[i].copy_(c.exp_avg_sq[i].second);
    if (!ema.empty() && !c.ema.empty()) ema[i].copy_(c.ema[i].second);
  }
}

int64_t ModelState::load_matching(const NamedTensors& weights) {
  at::NoGradGuard guard;
  int64_t loaded = 0;
  for (size_t i = 0; i < named.size(); ++i) {
    auto it = std::find_if(weights.begin(), weights.end(), [&](const auto& p) { return p.first == named[i].first; });
    if (it != weights.end() && it->second.sizes() == params[i].sizes()) {
      params[i].copy_(it->second);
      ++loaded;
    }
  }
  return loaded;
}

}  // namespace tal
