#include "trainer/train/unit_gradient.h"

#include <torch/csrc/autograd/autograd.h>

#include <chrono>

#include "base/error.h"
#include "hypernet/family.h"
#include "hypernet/torch_compat.h"

namespace tal {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

int64_t predicted_numel(const ArchSpec& spec) {
  int64_t n = 0;
  for (const auto& p : param_table(spec))
    if (is_predicted(spec, p.name)) n += p.numel();
  return n;
}

UnitTargetGradient target_gradient(Hypernet& net, const Graph& graph, uint64_t class_row_seed,
                                   const at::Tensor& task_embedding, const std::vector<const UnitBatch*>& pieces,
                                   const AncestryModel* teacher, const LossWeights& w, const StepShape& shape,
                                   StepTimings& timings) {
  const ArchSpec& spec = graph.spec;
  const Family& family = spec.family();
  auto t0 = Clock::now();
  PredictOptions popts;
  popts.class_row_seeds = {class_row_seed};
  UnitTargetGradient u;
  u.params = net.predict({&graph}, task_embedding, popts)[0];
  for (const auto& p : param_table(spec))
    if (is_predicted(spec, p.name)) u.predicted.push_back(u.params.at(p.name));
  timings.hypernet_forward += seconds_since(t0);

  u.sum = at::zeros({predicted_numel(spec)}, u.predicted.front().options().dtype(at::kDouble));
  const double step_images = static_cast<double>(shape.units * shape.images);
  for (const UnitBatch* piece : pieces) {
    // The piece is a run of whole chunks; each chunk's gradient is computed alone.
    for (int64_t off = 0; off < piece->work.count;) {
      const int64_t chunk = (piece->work.first + off) / std::max<int64_t>(1, shape.chunk_images);
      const int64_t n = shape.chunk_images > 0 && shape.chunk_images < shape.images
                            ? chunk_size(chunk, shape.images, shape.chunk_images)
                            : piece->work.count;
      t0 = Clock::now();
      const auto images = piece->batch.inputs.narrow(0, off, n), labels = piece->batch.labels.narrow(0, off, n);
      at::Tensor logits;
      {
        const AutocastGuard autocast(images.device().type(), w.bf16);
        logits = target_forward(spec, u.params, images).to(at::kFloat);
      }
      auto per_image = family.loss(logits, labels, w.label_smoothing);
      if (teacher && w.kd_weight > 0) {
        at::Tensor soft;
        {
          at::NoGradGuard guard;
          const AutocastGuard autocast(images.device().type(), w.bf16);
          soft = target_forward(teacher->spec, teacher->params, images).to(at::kFloat);
        }
        per_image = (1 - w.kd_weight) * per_image + w.kd_weight * family.distillation(logits, soft, w.kd_temperature);
      }
      const auto loss = per_image.sum() / step_images;
      timings.target_forward += seconds_since(t0);
      t0 = Clock::now();
      const auto grads = torch::autograd::grad({loss}, u.predicted, {}, false, false, /*allow_unused=*/true);
      int64_t at = 0;
      for (size_t i = 0; i < grads.size(); ++i) {
        const int64_t numel = u.predicted[i].numel();
        if (grads[i].defined()) u.sum.narrow(0, at, numel).add_(grads[i].reshape({-1}).to(at::kDouble));
        at += numel;
      }
      timings.target_backward += seconds_since(t0);
      u.loss += loss.item<double>();
      u.images += n;
      off += n;
    }
  }
  return u;
}

double hypernet_gradient(UnitTargetGradient& u, const std::vector<at::Tensor>& params, double reg_weight,
                         int64_t units, at::Tensor& grad, StepTimings& timings) {
  const auto t0 = Clock::now();
  for (auto& p : params) p.mutable_grad() = at::Tensor();
  const auto sum = u.sum.to(at::kFloat);
  std::vector<at::Tensor> upstream;
  int64_t at = 0;
  for (const auto& t : u.predicted) {
    upstream.push_back(sum.narrow(0, at, t.numel()).view_as(t));
    at += t.numel();
  }
  double reg_loss = 0;
  if (reg_weight > 0) {
    const auto reg = predicted_norm_sum(u.params) * (reg_weight / static_cast<double>(units));
    const auto reg_grads = torch::autograd::grad({reg}, u.predicted, {}, true, false, /*allow_unused=*/true);
    for (size_t i = 0; i < upstream.size(); ++i)
      if (reg_grads[i].defined()) upstream[i] = upstream[i] + reg_grads[i];
    reg_loss = reg.item<double>();
  }
  torch::autograd::backward(u.predicted, upstream);
  int64_t off = 0;
  for (const auto& p : params) {
    if (p.grad().defined()) grad.narrow(0, off, p.numel()).add_(p.grad().reshape({-1}).to(at::kDouble));
    off += p.numel();
  }
  timings.hypernet_backward += seconds_since(t0);
  return reg_loss;
}

}  // namespace tal
