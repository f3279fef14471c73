#include "trainer/train/epoch_batches.h"

#include <vector>

#include "base/error.h"
#include "base/rng.h"

namespace tal {
namespace {
constexpr uint64_t kOrderStream = 1, kAugmentStream = 2;
}

EpochBatches::EpochBatches(const Task& task, int64_t batch, uint64_t seed)
    : task_(task), batch_(batch), n_(task.size(Split::Train)), per_epoch_(n_ / batch), seed_(seed),
      order_(n_, seed, kOrderStream) {}

EpochBatches::EpochBatches(const Task& task, std::vector<int64_t> positions, int64_t batch, uint64_t seed)
    : task_(task), positions_(std::move(positions)), batch_(batch), n_(static_cast<int64_t>(positions_.size())),
      per_epoch_(n_ / batch), seed_(seed), order_(n_, seed, kOrderStream) {}

Batch EpochBatches::at(int64_t step) {
  TAL_ASSERT(per_epoch_ > 0, "EpochBatches: batch ", batch_, " is larger than the ", n_, " training images");
  const int64_t epoch = step / per_epoch_, i = step % per_epoch_;
  std::vector<int64_t> pos;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int64_t j = 0; j < batch_; ++j) {
      const int64_t k = order_.at(epoch * n_ + i * batch_ + j);
      pos.push_back(positions_.empty() ? k : positions_[static_cast<size_t>(k)]);
    }
  }
  std::vector<uint64_t> aug;
  for (int64_t j = 0; j < batch_; ++j)
    aug.push_back(mix_seed(seed_, kAugmentStream, static_cast<uint64_t>(step * batch_ + j)));
  return task_.load(Split::Train, pos, &aug);
}

}  // namespace tal
