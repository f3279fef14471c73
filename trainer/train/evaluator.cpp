#include "trainer/train/evaluator.h"

#include <algorithm>
#include <numeric>

#include "hypernet/family.h"

namespace tal {

Accuracy count_correct(const ArchSpec& spec, const ParamMap& params, const Task& task, Split split,
                       const std::vector<int64_t>& positions, int64_t batch) {
  at::NoGradGuard guard;
  Accuracy acc;
  const auto n = static_cast<int64_t>(positions.size());
  const at::Device device = params.empty() ? at::Device(at::kCPU) : params.begin()->second.device();
  for (int64_t start = 0; start < n; start += batch) {
    const std::vector<int64_t> pos(positions.begin() + start, positions.begin() + std::min(n, start + batch));
    const auto b = task.load(split, pos);
    const auto ok = spec.family().correct(target_forward(spec, params, b.inputs.to(device)), b.labels.to(device));
    acc.correct += static_cast<double>(ok.sum().item<int64_t>());
    acc.count += static_cast<double>(ok.numel());
  }
  return acc;
}

std::vector<int64_t> first_positions(int64_t n) {
  std::vector<int64_t> out(static_cast<size_t>(std::max<int64_t>(0, n)));
  std::iota(out.begin(), out.end(), 0);
  return out;
}

}  // namespace tal
