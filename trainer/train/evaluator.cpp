#include "trainer/train/evaluator.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/error.h"
#include "hypernet/family.h"

namespace tal {
namespace {
constexpr double kLogitsPerBatch = 64.0 * 1024 * 1024;  // floats: 256 MiB
}

double matthews_correlation(const at::Tensor& confusion) {
  const auto c = confusion.to(at::kDouble);
  if (c.numel() == 0) return 0.0;
  const double s = c.sum().item<double>(), correct = c.trace().item<double>();
  const auto t = c.sum(1), p = c.sum(0);  // true and predicted counts per class
  const double tp = (t * p).sum().item<double>(), pp = (p * p).sum().item<double>(), tt = (t * t).sum().item<double>();
  const double denominator = std::sqrt(s * s - pp) * std::sqrt(s * s - tt);
  return denominator > 0 ? (correct * s - tp) / denominator : 0.0;
}

double Evaluation::perplexity() const { return language_model && count > 0 ? std::exp(nll / count) : 0.0; }

double Evaluation::mcc() const { return confusion.defined() ? matthews_correlation(confusion) : 0.0; }

at::Tensor Evaluation::to_counts() const {
  auto head = at::tensor({correct, count, nll}, at::kDouble);
  return confusion.defined() ? at::cat({head, confusion.flatten()}) : head;
}

Evaluation Evaluation::from_counts(const at::Tensor& summed) const {
  TAL_ASSERT(summed.numel() == to_counts().numel(), "evaluation counts of ", summed.numel(), " values, expected ",
             to_counts().numel());
  Evaluation e = *this;
  const auto s = summed.to(at::kDouble).contiguous();
  e.correct = s[0].item<double>();
  e.count = s[1].item<double>();
  e.nll = s[2].item<double>();
  if (confusion.defined()) e.confusion = s.narrow(0, 3, confusion.numel()).view(confusion.sizes()).clone();
  return e;
}

Evaluation empty_evaluation(const Task& task) {
  Evaluation e;
  e.language_model = task.def().pack;
  if (!e.language_model && task.num_classes() <= kConfusionClasses)
    e.confusion = at::zeros({task.num_classes(), task.num_classes()}, at::kDouble);
  return e;
}

int64_t evaluation_batch(const ArchSpec& spec, int64_t batch) {
  const double outputs = static_cast<double>(std::max<int64_t>(1, spec.family().outputs_per_example(spec)));
  return std::max<int64_t>(1, std::min<int64_t>(batch, static_cast<int64_t>(kLogitsPerBatch / outputs)));
}

Evaluation evaluate(const ArchSpec& spec, const ParamMap& params, const Task& task, Split split,
                    const std::vector<int64_t>& positions, int64_t batch, const BlockHooks* hooks) {
  at::NoGradGuard guard;
  Evaluation e = empty_evaluation(task);
  const Family& family = spec.family();
  const auto n = static_cast<int64_t>(positions.size());
  batch = evaluation_batch(spec, batch);
  const at::Device device = params.empty() ? at::Device(at::kCPU) : params.begin()->second.device();
  for (int64_t start = 0; start < n; start += batch) {
    const std::vector<int64_t> pos(positions.begin() + start, positions.begin() + std::min(n, start + batch));
    const auto b = task.load(split, pos);
    const auto labels = b.labels.to(device);
    const auto logits = target_forward(spec, params, b.inputs.to(device), hooks).to(at::kFloat);
    const auto ok = family.correct(logits, labels);
    e.correct += static_cast<double>(ok.sum().item<int64_t>());
    e.count += static_cast<double>(ok.numel());
    if (e.language_model) {
      // The family's loss is the mean over an example's predictions: times their number, the sum.
      const double per_example = static_cast<double>(ok.numel()) / static_cast<double>(pos.size());
      e.nll += family.loss(logits, labels, 0.0).to(at::kDouble).sum().item<double>() * per_example;
    } else if (e.has_mcc()) {
      const int64_t k = e.confusion.size(0);
      const auto cells = b.labels * k + logits.argmax(-1).to(at::kCPU);
      e.confusion += at::bincount(cells, {}, k * k).to(at::kDouble).view({k, k});
    }
  }
  return e;
}

std::vector<int64_t> first_positions(int64_t n) {
  std::vector<int64_t> out(static_cast<size_t>(std::max<int64_t>(0, n)));
  std::iota(out.begin(), out.end(), 0);
  return out;
}

}  // namespace tal
