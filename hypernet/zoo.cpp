#include "hypernet/zoo.h"

#include "base/error.h"
#include "base/rng.h"
#include "base/suggest.h"
#include "hypernet/family.h"

namespace tal {

std::vector<int64_t> int_range(int64_t lo, int64_t hi, int64_t step) {
  std::vector<int64_t> out;
  for (int64_t v = lo; v <= hi; v += step) out.push_back(v);
  return out;
}

const std::vector<std::string>& zoo_profile_names() {
  static const std::vector<std::string> names = {"paper", "cpu-small"};
  return names;
}

void ZooRules::validate() const {
  family_of_rules(rules);  // throws naming the known rules
  TAL_REQUIRE(is_one_of(profile, zoo_profile_names()), "zoo: unknown profile '", profile, "' (expected ",
              join_choices(zoo_profile_names()), ")");
  TAL_REQUIRE(data.channels >= 0 && data.height >= 0 && data.width >= 0 && data.vocab >= 0 && data.length >= 0 &&
                  data.classes >= 0,
              "zoo: the data shape must not be negative");
}

ArchSpec sample_arch(const ZooRules& r, uint64_t seed, uint64_t index) {
  r.validate();
  SplitMix rng(mix_seed(seed, /*stream=*/1, index));
  constexpr int kTries = 10000;
  for (int attempt = 0; attempt < kTries; ++attempt) {
    ArchSpec s = r.family().sample(r, rng);
    if (r.max_width > 0 && s.at("width") > r.max_width) continue;
    s.validate();
    return s;
  }
  TAL_REQUIRE(false, "key 'zoo.max_width': the ", r.rules, " rules (", r.profile, ") draw nothing as narrow as ",
              r.max_width, " in ", kTries, " draws");
  return {};
}

std::vector<ArchSpec> sample_zoo(const ZooRules& r, uint64_t seed, int64_t n) {
  TAL_REQUIRE(n >= 0, "zoo: n must be >= 0, got ", n);
  std::vector<ArchSpec> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out.push_back(sample_arch(r, seed, static_cast<uint64_t>(i)));
  return out;
}

bool zoo_contains(const ZooRules& r, const ArchSpec& spec, int64_t draws) {
  if (r.family().name() != spec.family().name()) return false;
  const std::string want = spec.str();
  for (int64_t i = 0; i < draws; ++i)
    if (sample_arch(r, 0, static_cast<uint64_t>(i)).str() == want) return true;
  return false;
}

}  // namespace tal
