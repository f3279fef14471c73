#include "trainer/train/update.h"

#include <cmath>
#include <cstdio>

#include "base/error.h"

namespace tal {

GradientBuffer::GradientBuffer(int64_t n, at::Device device)
    : flat(at::zeros({n + 4}, at::TensorOptions().dtype(at::kDouble).device(device))), params(n) {}

void GradientBuffer::set_totals(double loss, int64_t images, int64_t units) {
  const bool finite = std::isfinite(loss) && grads().isfinite().all().item<bool>();
  flat[params] = finite ? loss : 0.0;
  flat[params + 1] = finite ? 0.0 : 1.0;
  flat[params + 2] = static_cast<double>(images);
  flat[params + 3] = static_cast<double>(units);
}

double GradientBuffer::loss() const { return flat[params].item<double>(); }
int GradientBuffer::bad_ranks() const { return static_cast<int>(flat[params + 1].item<double>()); }
int64_t GradientBuffer::images() const { return static_cast<int64_t>(flat[params + 2].item<double>()); }

void skip_step(TrainState& state, int64_t step, int bad_ranks, int64_t max_bad_steps, bool report) {
  ++state.bad_steps;
  ++state.skipped_steps;
  if (report)
    std::fprintf(stderr, "tal: warning: step %lld: non-finite loss or gradients on %d rank(s); step skipped (%lld in a row)\n",
                 static_cast<long long>(step + 1), bad_ranks, static_cast<long long>(state.bad_steps));
  TAL_REQUIRE(state.bad_steps < max_bad_steps, "aborting: ", state.bad_steps,
              " consecutive steps with non-finite loss or gradients (train.max_bad_steps=", max_bad_steps,
              "; HINT: lower train.lr or raise train.clip)");
}

void set_gradients(const at::Tensor& grads, std::vector<at::Tensor>& params) {
  const auto g = grads.to(at::kFloat);
  int64_t off = 0;
  for (auto& p : params) {
    p.mutable_grad() = g.narrow(0, off, p.numel()).view_as(p);
    off += p.numel();
  }
}

double apply_update(std::vector<at::Tensor>& params, AdamW& optim, double lr, double clip, double ema_decay,
                    std::vector<at::Tensor>& ema) {
  const double norm = clip_grad_norm(params, clip);
  optim.step(lr);
  if (ema_decay > 0) {
    at::NoGradGuard guard;
    for (size_t i = 0; i < params.size(); ++i) ema[i].mul_(ema_decay).add_(params[i].detach(), 1 - ema_decay);
  }
  return norm;
}

}  // namespace tal
