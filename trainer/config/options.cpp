#include "trainer/config/options.h"

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

void TalOptions::validate(const std::string& origin) const {
  zoo.validate(origin);
  hypernet.validate(origin);
  try {
    ArchSpec::parse(ancestry.arch);
  } catch (const Error& e) {
    throw Error(origin + ": key 'ancestry.arch': " + e.what());
  }
}

}  // namespace tal
