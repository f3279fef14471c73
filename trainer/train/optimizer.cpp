#include "trainer/train/optimizer.h"

#include <cmath>

#include "base/error.h"

namespace tal {

AdamW::AdamW(std::vector<at::Tensor> params, AdamWConfig config) : params_(std::move(params)), cfg_(config) {
  for (const auto& p : params_) {
    exp_avg_.push_back(at::zeros_like(p));
    exp_avg_sq_.push_back(at::zeros_like(p));
  }
}

void AdamW::step(double lr) {
  at::NoGradGuard guard;
  ++steps_;
  const double bc1 = 1 - std::pow(cfg_.beta1, static_cast<double>(steps_));
  const double bc2 = 1 - std::pow(cfg_.beta2, static_cast<double>(steps_));
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    const auto g = p.grad();
    if (!g.defined()) continue;  // a parameter this step did not reach keeps its value and moments
    p.mul_(1 - lr * cfg_.weight_decay);
    exp_avg_[i].mul_(cfg_.beta1).add_(g, 1 - cfg_.beta1);
    exp_avg_sq_[i].mul_(cfg_.beta2).addcmul_(g, g, 1 - cfg_.beta2);
    const auto denom = (exp_avg_sq_[i].sqrt() / std::sqrt(bc2)).add_(cfg_.eps);
    p.addcdiv_(exp_avg_[i], denom, -lr / bc1);
  }
}

void AdamW::zero_grad() {
  for (auto& p : params_)
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();
}

double cosine_lr(double base, int64_t step, int64_t warmup, int64_t total, double min_ratio) {
  if (warmup > 0 && step < warmup) return base * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double span = static_cast<double>(std::max<int64_t>(1, total - warmup));
  const double progress = std::min(1.0, static_cast<double>(step - warmup) / span);
  return base * (min_ratio + (1 - min_ratio) * 0.5 * (1 + std::cos(M_PI * progress)));
}

double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm) {
  at::NoGradGuard guard;
  double sumsq = 0;
  for (const auto& p : params)
    if (p.grad().defined()) sumsq += p.grad().to(at::kDouble).pow(2).sum().item<double>();
  const double norm = std::sqrt(sumsq);
  if (max_norm > 0 && norm > max_norm && std::isfinite(norm))
    for (const auto& p : params)
      if (p.grad().defined()) p.grad().mul_(max_norm / (norm + 1e-6));
  return norm;
}

}  // namespace tal
