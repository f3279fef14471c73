// The zoo file (tal-zoo) that `tal zoo sample --out` writes and `tal predict --zoo` reads: spec strings with their
// predicted-parameter and node counts, and the rules, profile and seed that drew them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hypernet/arch_spec.h"

namespace tal {

struct ZooFile {
  std::string family, rules, profile;
  int64_t seed = 0;
  std::vector<ArchSpec> specs;
};

void write_zoo_file(const std::string& path, const ZooFile& zoo);
ZooFile read_zoo_file(const std::string& path);

}  // namespace tal
