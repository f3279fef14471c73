// The shape encoder's vocabularies (ppuda ShapeEncoder): channel sizes {1, 3, num_classes} ∪ 8..56 step 8 ∪
// 64..4080 step 16 ∪ 4096..8192 step 32, spatial sizes odd 1..max(12, S)-1 ∪ {14, 16}; values outside snap to
// the nearest entry (ties to the smaller; channels 4..7 -> 8, spatial 2 -> 3, above the last -> the last).
// Parameter-free nodes use the extra index len(vocabulary).
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <vector>

#include "hypernet/graph_batch.h"

namespace tal {

class ShapeVocab {
 public:
  ShapeVocab(int64_t num_classes, int64_t spatial);
  const std::vector<int64_t>& channels() const { return channels_; }
  const std::vector<int64_t>& spatial() const { return spatial_; }
  int64_t channel_index(int64_t c) const;
  int64_t spatial_index(int64_t s) const;
  // [B, N, 4] int64 indices for a padded batch (padding and parameter-free nodes get the extra index).
  at::Tensor indices(const GraphBatch& batch) const;

 private:
  std::vector<int64_t> channels_, spatial_;
};

}  // namespace tal
