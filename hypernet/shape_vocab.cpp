#include "hypernet/shape_vocab.h"

#include <algorithm>
#include <cstdlib>

namespace tal {
namespace {

// Index of the nearest entry of a sorted vocabulary, ties going to the smaller value; above the last -> last.
int64_t nearest(const std::vector<int64_t>& v, int64_t x) {
  if (x >= v.back()) return static_cast<int64_t>(v.size()) - 1;
  int64_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (std::llabs(v[i] - x) < std::llabs(v[static_cast<size_t>(best)] - x)) best = static_cast<int64_t>(i);
  return best;
}

}  // namespace

ShapeVocab::ShapeVocab(int64_t num_classes, int64_t spatial) {
  channels_ = {1, 3, num_classes};
  for (int64_t c = 8; c < 64; c += 8) channels_.push_back(c);
  for (int64_t c = 64; c < 4096; c += 16) channels_.push_back(c);
  for (int64_t c = 4096; c <= 8192; c += 32) channels_.push_back(c);
  std::sort(channels_.begin(), channels_.end());
  channels_.erase(std::unique(channels_.begin(), channels_.end()), channels_.end());
  for (int64_t s = 1; s < std::max<int64_t>(12, spatial); s += 2) spatial_.push_back(s);
  spatial_.push_back(14);
  spatial_.push_back(16);
  std::sort(spatial_.begin(), spatial_.end());
  spatial_.erase(std::unique(spatial_.begin(), spatial_.end()), spatial_.end());
}

int64_t ShapeVocab::channel_index(int64_t c) const {
  if (c >= 4 && c < 8) c = 8;
  return nearest(channels_, c);
}

int64_t ShapeVocab::spatial_index(int64_t s) const {
  if (s == 2) s = 3;
  return nearest(spatial_, s);
}

at::Tensor ShapeVocab::indices(const GraphBatch& batch) const {
  const int64_t b = batch.batch(), n = batch.max_nodes();
  const int64_t nc = static_cast<int64_t>(channels_.size()), ns = static_cast<int64_t>(spatial_.size());
  auto out = at::empty({b, n, 4}, at::kLong);
  auto o = out.accessor<int64_t, 3>();
  auto s = batch.shapes.accessor<int64_t, 3>();
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const bool none = s[i][j][0] < 0;
      o[i][j][0] = none ? nc : channel_index(s[i][j][0]);
      o[i][j][1] = none ? nc : channel_index(s[i][j][1]);
      o[i][j][2] = none ? ns : spatial_index(s[i][j][2]);
      o[i][j][3] = none ? ns : spatial_index(s[i][j][3]);
    }
  return out;
}

}  // namespace tal
