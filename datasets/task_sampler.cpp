#include "datasets/task_sampler.h"

#include <cmath>
#include <numeric>

#include "base/error.h"
#include "base/rng.h"

namespace tal {

TaskSampler::TaskSampler(std::vector<int64_t> sizes, double temperature, uint64_t seed)
    : seed_(seed), cursors_(sizes.size(), 0) {
  TAL_REQUIRE(!sizes.empty(), "task sampler: no tasks");
  TAL_REQUIRE(temperature > 0, "task sampler: temperature must be positive, got ", temperature);
  const double total = static_cast<double>(std::accumulate(sizes.begin(), sizes.end(), int64_t{0}));
  for (auto n : sizes) {
    TAL_REQUIRE(n > 0, "task sampler: a task has no training images");
    probs_.push_back(std::pow(static_cast<double>(n) / total, 1.0 / temperature));
  }
  const double z = std::accumulate(probs_.begin(), probs_.end(), 0.0);
  double acc = 0;
  for (auto& p : probs_) {
    p /= z;
    acc += p;
    cdf_.push_back(acc);
  }
  cdf_.back() = 1.0;
}

int64_t TaskSampler::task_at(int64_t step) const {
  SplitMix rng(mix_seed(seed_, /*stream=*/0x7A5C, static_cast<uint64_t>(step)));
  const double u = rng.uniform01();
  for (size_t t = 0; t < cdf_.size(); ++t)
    if (u < cdf_[t]) return static_cast<int64_t>(t);
  return static_cast<int64_t>(cdf_.size()) - 1;
}

int64_t TaskSampler::claim(int64_t task, int64_t count) {
  const int64_t first = cursors_.at(static_cast<size_t>(task));
  cursors_[static_cast<size_t>(task)] += count;
  return first;
}

void TaskSampler::restore(const std::vector<int64_t>& cursors) {
  TAL_REQUIRE(cursors.size() == cursors_.size(), "task sampler: state for ", cursors.size(), " tasks, have ",
              cursors_.size());
  cursors_ = cursors;
}

}  // namespace tal
