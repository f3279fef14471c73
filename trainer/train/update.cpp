#include "trainer/train/update.h"

#include <cmath>
#include <cstdio>

#include "base/error.h"

namespace tal {

GradientBuffer::GradientBuffer(int64_t n, at::Device device)
    : flat(at::zeros({n + 5}, at::TensorOptions().dtype(at::kDouble).device(device))), params(n) {}

void GradientBuffer::set_totals(double loss, int64_t images, int64_t units, bool out_of_memory) {
  const bool finite = out_of_memory || (std::isfinite(loss) && grads().isfinite().all().item<bool>());
  flat[params] = finite && !out_of_memory ? loss : 0.0;
  flat[params + 1] = finite ? 0.0 : 1.0;
  flat[params + 2] = static_cast<double>(images);
  flat[params + 3] = static_cast<double>(units);
  flat[params + 4] = out_of_memory ? 1.0 : 0.0;
}

double GradientBuffer::loss() const { return flat[params].item<double>(); }
int GradientBuffer::bad_ranks() const { return static_cast<int>(flat[params + 1].item<double>()); }
int GradientBuffer::out_of_memory_ranks() const { return static_cast<int>(flat[params + 4].item<double>()); }
int64_t GradientBuffer::images() const { return static_cast<int64_t>(flat[params + 2].item<double>()); }

void skip_step(TrainState& state, int64_t step, const SkippedStep& why, int64_t max_bad_steps, bool report) {
  ++state.bad_steps;
  ++state.skipped_steps;
  std::string cause;
  if (why.nonfinite_ranks > 0) cause = "non-finite loss or gradients on " + std::to_string(why.nonfinite_ranks) + " rank(s)";
  if (why.out_of_memory_ranks > 0)
    cause += (cause.empty() ? "" : " and ") + std::string("out of memory on ") +
             std::to_string(why.out_of_memory_ranks) + " rank(s): " + why.out_of_memory;
  if (report)
    std::fprintf(stderr, "tal: warning: step %lld: %s; step skipped (%lld in a row)\n", static_cast<long long>(step + 1),
                 cause.c_str(), static_cast<long long>(state.bad_steps));
  if (why.out_of_memory_ranks > 0)
    TAL_REQUIRE(state.bad_steps < max_bad_steps, "aborting: ", state.bad_steps,
                " consecutive steps skipped (train.max_bad_steps=", max_bad_steps, "), the last, step ", step + 1,
                ", for out of memory on ", why.out_of_memory,
                " (HINT: a smaller train.batch, train.meta_batch or train.chunk_images, or more ranks)");
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
