// The training batches of an ordinary model on one task (the ancestry model, a fine-tuned descendant): batch
// `step` is a pure function of (seed, step): the epoch's order of the task's training images, then one
// augmentation seed per image, so a resumed or re-run training sees exactly the same batches.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "datasets/tasks.h"

namespace tal {

class EpochBatches {
 public:
  EpochBatches(const Task& task, int64_t batch, uint64_t seed);
  // Over the training images at `positions` only (a fine-tuning run's training part, its validation slice left out).
  EpochBatches(const Task& task, std::vector<int64_t> positions, int64_t batch, uint64_t seed);
  int64_t per_epoch() const { return per_epoch_; }
  // Safe to call from a prefetching thread while another computes.
  Batch at(int64_t step);

 private:
  const Task& task_;
  std::vector<int64_t> positions_;  // empty: every training image
  int64_t batch_, n_, per_epoch_;
  uint64_t seed_;
  TaskStream order_;
  std::mutex mutex_;
};

}  // namespace tal
