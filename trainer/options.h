// Typed options of the components every subcommand shares, and the table entries that fill them (DESIGN.md 4.6).
#pragma once

#include <string>
#include <vector>

#include "hypernet/zoo.h"
#include "trainer/config.h"

namespace tal {

struct RunOptions {
  std::string dir = "runs/default";
  int64_t seed = 0;
};

struct ZooOptions {
  std::string family = "vit";
  std::string rules = "vits-1k";
  std::string profile = "paper";
  int64_t image = 32;
  int64_t channels = 3;
  int64_t classes = 10;
  // Throws naming `origin` when family and rules disagree.
  void validate(const std::string& origin) const;
  ZooRules rules_for_task() const;
};

template <class Opts>
void add_run_options(OptionTable<Opts>& t) {
  t.add(opt<Opts>("run.dir", [](auto& o) -> auto& { return o.run.dir; }, "run directory"));
  t.add(opt<Opts>("run.seed", [](auto& o) -> auto& { return o.run.seed; }, "global seed").alias("--seed").range(0));
}

template <class Opts>
void add_zoo_options(OptionTable<Opts>& t) {
  t.add(opt<Opts>("zoo.family", [](auto& o) -> auto& { return o.zoo.family; }, "architecture family")
            .alias("--family")
            .choices({"vit", "gpt2"}));
  t.add(opt<Opts>("zoo.rules", [](auto& o) -> auto& { return o.zoo.rules; }, "sampling rules")
            .alias("--rules")
            .choices(zoo_rule_names()));
  t.add(opt<Opts>("zoo.profile", [](auto& o) -> auto& { return o.zoo.profile; }, "scale profile")
            .alias("--profile")
            .choices(zoo_profile_names()));
  t.add(opt<Opts>("zoo.image", [](auto& o) -> auto& { return o.zoo.image; }, "ViT input side (from the task)")
            .range(1));
  t.add(opt<Opts>("zoo.channels", [](auto& o) -> auto& { return o.zoo.channels; }, "ViT input channels").range(1));
  t.add(opt<Opts>("zoo.classes", [](auto& o) -> auto& { return o.zoo.classes; }, "classifier outputs").range(1));
}

}  // namespace tal
