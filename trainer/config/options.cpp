#include "trainer/config/options.h"

#include <algorithm>
#include <cstdlib>

#include "base/error.h"
#include "hypernet/arch_spec.h"
#include "hypernet/family.h"

namespace tal {

const std::vector<std::string>& train_stage_names() {
  static const std::vector<std::string> names = {"pretrain", "multitask", "both"};
  return names;
}

void ZooOptions::validate(const std::string& origin) const {
  const Family& sampled = family_of_rules(rules);
  TAL_REQUIRE(sampled.name() == family, origin, ": key 'zoo.rules': rules '", rules, "' sample family '",
              sampled.name(), "', not zoo.family '", family, "'");
}

DataShape ZooOptions::data() const {
  DataShape d;
  d.channels = channels;
  d.height = d.width = image;
  d.classes = classes;
  d.vocab = vocab;
  d.length = context;
  return d;
}

ZooRules ZooOptions::rules_for(const DataShape& data) const {
  ZooRules r;
  r.rules = rules;
  r.profile = profile;
  r.data = data;
  return r;
}

std::set<std::pair<int64_t, int64_t>> DebugOptions::nan_step_set() const {
  std::set<std::pair<int64_t, int64_t>> out;
  size_t start = 0;
  while (start < nan_steps.size()) {
    const auto end = std::min(nan_steps.find(',', start), nan_steps.size());
    const std::string item = nan_steps.substr(start, end - start);
    const auto colon = item.find(':');
    char* e1 = nullptr;
    char* e2 = nullptr;
    const long long rank = colon == std::string::npos ? -1 : std::strtoll(item.c_str(), &e1, 10);
    const long long step = colon == std::string::npos ? -1 : std::strtoll(item.c_str() + colon + 1, &e2, 10);
    TAL_REQUIRE(colon != std::string::npos && e1 == item.c_str() + colon && *e2 == '\0' && rank >= 0 && step >= 1,
                "key 'debug.nan_steps': expected 'rank:step,...' (steps from 1), got '", nan_steps, "'");
    out.emplace(rank, step);
    start = end + 1;
  }
  return out;
}

void TalOptions::validate(const std::string& origin) const {
  zoo.validate(origin);
  hypernet.validate(origin);
  debug.nan_step_set();
  try {
    ArchSpec::parse(ancestry.arch);
  } catch (const Error& e) {
    throw Error(origin + ": key 'ancestry.arch': " + e.what());
  }
}

}  // namespace tal
