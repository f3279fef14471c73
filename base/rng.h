// The counter-based generator behind every draw that ranks must agree on (zoo sampling, data order,
// augmentation, class-row seeds): splitmix64, the same stream on every platform, rank and standard library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tal {

class SplitMix {
 public:
  explicit SplitMix(uint64_t seed) : state_(seed) {}
  uint64_t next();
  int64_t uniform(int64_t lo, int64_t hi);  // inclusive
  double uniform01();
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[static_cast<size_t>(uniform(0, static_cast<int64_t>(v.size()) - 1))]; }

 private:
  uint64_t state_;
};

// A seed for draw `index` of stream `stream` under `seed`: any rank computes any draw without the ones before it.
uint64_t mix_seed(uint64_t seed, uint64_t stream, uint64_t index);

}  // namespace tal
