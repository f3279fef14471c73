#include "trainer/train/unit_gradient.h"

#include <torch/csrc/autograd/autograd.h>

#include <chrono>

#include "hypernet/family.h"

namespace tal {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

UnitContribution accumulate_unit_gradient(Hypernet& net, const std::vector<at::Tensor>& params, const Graph& graph,
                                          uint64_t class_row_seed, const at::Tensor& task_embedding,
                                          const std::vector<const UnitBatch*>& pieces, const AncestryModel* teacher,
                                          const LossWeights& w, int64_t step_images, at::Tensor& grad,
                                          StepTimings& timings) {
  const ArchSpec& spec = graph.spec;
  const Family& family = spec.family();
  for (auto& p : params) p.mutable_grad() = at::Tensor();
  auto t0 = Clock::now();
  PredictOptions popts;
  popts.class_row_seeds = {class_row_seed};
  const auto pred = net.predict({&graph}, task_embedding, popts)[0];
  timings.hypernet_forward += seconds_since(t0);

  t0 = Clock::now();
  UnitContribution out;
  at::Tensor total;
  for (const UnitBatch* piece : pieces) {
    const auto logits = target_forward(spec, pred, piece->batch.images);
    auto per_image = family.loss(logits, piece->batch.labels, w.label_smoothing);
    if (teacher && w.kd_weight > 0) {
      at::Tensor soft;
      {
        at::NoGradGuard guard;
        soft = target_forward(teacher->spec, teacher->params, piece->batch.images);
      }
      per_image = (1 - w.kd_weight) * per_image + w.kd_weight * family.distillation(logits, soft, w.kd_temperature);
    }
    auto piece_loss = per_image.sum() / static_cast<double>(step_images);
    if (w.reg_weight > 0)
      piece_loss = piece_loss + predicted_norm_sum(pred) * (w.reg_weight * static_cast<double>(piece->work.count) /
                                                            static_cast<double>(step_images));
    total = total.defined() ? total + piece_loss : piece_loss;
    out.images += piece->work.count;
  }
  timings.target_forward += seconds_since(t0);

  // Backward in two phases, target net then hypernet, so each can be timed.
  t0 = Clock::now();
  std::vector<at::Tensor> predicted;
  for (const auto& [name, t] : pred) predicted.push_back(t);
  const auto grads = torch::autograd::grad({total}, predicted, {}, false, false, /*allow_unused=*/true);
  timings.target_backward += seconds_since(t0);
  t0 = Clock::now();
  std::vector<at::Tensor> outs, gs;
  for (size_t i = 0; i < predicted.size(); ++i)
    if (grads[i].defined()) {
      outs.push_back(predicted[i]);
      gs.push_back(grads[i]);
    }
  torch::autograd::backward(outs, gs);
  int64_t off = 0;
  for (const auto& p : params) {
    if (p.grad().defined()) grad.narrow(0, off, p.numel()).add_(p.grad().reshape({-1}).to(at::kDouble));
    off += p.numel();
  }
  timings.hypernet_backward += seconds_since(t0);
  out.loss = total.item<double>();
  return out;
}

}  // namespace tal
