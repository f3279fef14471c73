// Architecture zoo samplers reproducing the published rules (ViTs-1K of LoGAH, ViTs+-1K of TAL, GPTs-1K of LoGAH;
// each family owns its rules), with a scale profile so small machines use narrower, shallower nets. Sampling is a
// pure function of (seed, index): any rank can draw any architecture without drawing the ones before it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hypernet/arch_spec.h"
#include "hypernet/family_registry.h"

namespace tal {

struct ZooRules {
  std::string rules = "vits-1k";  // any family's zoo_rules(): vits-1k | vits+-1k | gpts-1k
  std::string profile = "paper";  // paper | cpu-small
  // What the task fixes rather than the sampler.
  DataShape data{3, 32, 32, 50257, 1024, 10};
  // The widest architecture drawn (0: no cap): a draw wider than this is drawn again (from the same counter-based
  // stream, so still a pure function of seed and index). An inheriting hypernetwork trains on architectures its
  // ancestry can be weight-selected into, so none wider than the ancestry.
  int64_t max_width = 0;

  const Family& family() const { return family_of_rules(rules); }
  void validate() const;  // throws naming the bad field
};

const std::vector<std::string>& zoo_profile_names();

ArchSpec sample_arch(const ZooRules& rules, uint64_t seed, uint64_t index);
std::vector<ArchSpec> sample_zoo(const ZooRules& rules, uint64_t seed, int64_t n);

// Whether `spec` is one the rules draw (its spec string among `draws` samples): the zoo's spaces are small and
// discrete, so a few thousand draws cover them. Fine-tuning reports architectures inside and outside the hypernets'
// training zoo apart.
bool zoo_contains(const ZooRules& rules, const ArchSpec& spec, int64_t draws = 4096);

// lo, lo + step, ..., <= hi: the width grids of the published rules.
std::vector<int64_t> int_range(int64_t lo, int64_t hi, int64_t step);

}  // namespace tal
