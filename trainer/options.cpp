#include "trainer/options.h"

#include "hypernet/error.h"

namespace tal {

void ZooOptions::validate(const std::string& origin) const {
  const bool gpt = rules == "gpts-1k";
  TAL_REQUIRE(gpt == (family == "gpt2"), origin, ": key 'zoo.rules': rules '", rules, "' do not sample family '",
              family, "' (vit: vits-1k or vits+-1k; gpt2: gpts-1k)");
}

void TalOptions::validate(const std::string& origin) const {
  zoo.validate(origin);
  hypernet.validate(origin);
  ArchSpec::parse(ancestry.arch);
}

ZooRules ZooOptions::rules_for_task() const {
  ZooRules r;
  r.rules = rules;
  r.profile = profile;
  r.image = image;
  r.channels = channels;
  r.classes = classes;
  return r;
}

}  // namespace tal
