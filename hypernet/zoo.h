// Architecture zoo samplers reproducing the published rules (ViTs-1K of LoGAH, ViTs+-1K of TAL, GPTs-1K of LoGAH),
// with a scale profile so small machines use narrower, shallower nets. Sampling is a pure function of
// (seed, index): any rank can draw any architecture without drawing the ones before it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hypernet/arch_spec.h"

namespace tal {

struct ZooRules {
  std::string rules = "vits-1k";  // vits-1k | vits+-1k | gpts-1k
  std::string profile = "paper";  // paper | cpu-small
  // What the task fixes rather than the sampler.
  int64_t image = 32;
  int64_t channels = 3;
  int64_t classes = 10;
  int64_t vocab = 50257;
  int64_t context = 1024;

  Family family() const;
  void validate() const;  // throws naming the bad field
};

const std::vector<std::string>& zoo_rule_names();
const std::vector<std::string>& zoo_profile_names();

ArchSpec sample_arch(const ZooRules& rules, uint64_t seed, uint64_t index);
std::vector<ArchSpec> sample_zoo(const ZooRules& rules, uint64_t seed, int64_t n);

// Counter-based deterministic generator (splitmix64): identical streams on every platform and rank.
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

uint64_t mix_seed(uint64_t seed, uint64_t stream, uint64_t index);

}  // namespace tal
