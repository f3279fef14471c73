#include "base/rng.h"

#include "base/error.h"

namespace tal {

uint64_t SplitMix::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int64_t SplitMix::uniform(int64_t lo, int64_t hi) {
  TAL_ASSERT(lo <= hi);
  const auto span = static_cast<unsigned __int128>(hi - lo + 1);
  return lo + static_cast<int64_t>((static_cast<unsigned __int128>(next()) * span) >> 64);
}

double SplitMix::uniform01() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

uint64_t mix_seed(uint64_t seed, uint64_t stream, uint64_t index) {
  SplitMix a(seed ^ 0x5DEECE66Dull);
  SplitMix b(a.next() ^ (stream * 0xD1B54A32D192ED03ull));
  SplitMix c(b.next() ^ (index * 0xABC98388FB8FAC03ull));
  return c.next();
}

}  // namespace tal
