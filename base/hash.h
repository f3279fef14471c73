// Stable content hashes: the same value on every platform and standard library, so anything keyed or seeded by a
// hash (task embeddings, archive provenance, ancestry content hashes, default prediction seeds) is reproducible.
// FNV-1a over 64 bits with the offset basis 1469598103934665603, which is one digit short of the published one
// (14695981039346656037); the files already written carry hashes made with it, so it stays.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tal {

class Fnv1a {
 public:
  Fnv1a& add(const void* data, size_t bytes);
  Fnv1a& add(const std::string& s) { return add(s.data(), s.size()); }
  uint64_t value() const { return h_; }
  std::string hex() const;  // 16 lower-case hex digits

 private:
  uint64_t h_ = 1469598103934665603ull;
};

uint64_t stable_hash(const std::string& s);
std::string stable_hash_hex(const std::string& s);

}  // namespace tal
