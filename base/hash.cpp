#include "base/hash.h"

#include <cstdio>

namespace tal {

Fnv1a& Fnv1a::add(const void* data, size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) h_ = (h_ ^ p[i]) * 1099511628211ull;
  return *this;
}

std::string Fnv1a::hex() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h_));
  return buf;
}

uint64_t stable_hash(const std::string& s) { return Fnv1a().add(s).value(); }
std::string stable_hash_hex(const std::string& s) { return Fnv1a().add(s).hex(); }

}  // namespace tal
