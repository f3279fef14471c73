// The one accuracy loop: a model (spec + parameters) on a task's images, in batches, counted with the family's
// own notion of correct. Training (held-out architectures, sharded over ranks), tal eval and the ancestry
// trainer all count through it.
#pragma once

#include <cstdint>
#include <vector>

#include "datasets/tasks.h"
#include "hypernet/targets.h"

namespace tal {

struct Accuracy {
  double correct = 0, count = 0;
  double value() const { return count > 0 ? correct / count : 0.0; }
};

// Counts over the images at `positions` of `split` (no gradients).
Accuracy count_correct(const ArchSpec& spec, const ParamMap& params, const Task& task, Split split,
                       const std::vector<int64_t>& positions, int64_t batch = 1000);

// 0, 1, ..., n - 1.
std::vector<int64_t> first_positions(int64_t n);

}  // namespace tal
