// Typed options of the components every subcommand shares, and the table entries that fill them (DESIGN.md 4.6).
#pragma once

#include <string>
#include <vector>

#include "hypernet/hypernet_config.h"
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

template <class Opts>
void add_hypernet_options(OptionTable<Opts>& t) {
  t.add(opt<Opts>("hypernet.variant", [](auto& o) -> auto& { return o.hypernet.variant; },
                  "ghn3 (tiled decoder), logah (low-rank decoder) or tal (logah + task FiLM)")
            .choices({"ghn3", "logah", "tal"}));
  t.add(opt<Opts>("hypernet.hidden", [](auto& o) -> auto& { return o.hypernet.hidden; }, "node embedding width d")
            .range(4));
  t.add(opt<Opts>("hypernet.layers", [](auto& o) -> auto& { return o.hypernet.layers; }, "Graphormer layers")
            .range(1));
  t.add(opt<Opts>("hypernet.heads", [](auto& o) -> auto& { return o.hypernet.heads; }, "attention heads").range(1));
  t.add(opt<Opts>("hypernet.rank", [](auto& o) -> auto& { return o.hypernet.rank; }, "low-rank decoder rank r")
            .range(1));
  t.add(opt<Opts>("hypernet.max_shape", [](auto& o) -> auto& { return o.hypernet.max_shape; },
                  "widest channel count decoded without tiling")
            .range(1));
  t.add(opt<Opts>("hypernet.spatial", [](auto& o) -> auto& { return o.hypernet.spatial; },
                  "largest kernel side decoded (shape vocabulary)")
            .range(1));
  t.add(opt<Opts>("hypernet.max_ck", [](auto& o) -> auto& { return o.hypernet.max_ck; },
                  "low-rank factor length (c*k of any dimension)")
            .range(1));
  t.add(opt<Opts>("hypernet.num_classes", [](auto& o) -> auto& { return o.hypernet.num_classes; },
                  "class count known to the shape encoder / GHN-3 class predictor")
            .range(1));
  t.add(opt<Opts>("hypernet.task_dim", [](auto& o) -> auto& { return o.hypernet.task_dim; },
                  "task embedding width (tal)")
            .range(1));
  t.add(opt<Opts>("hypernet.task_layer", [](auto& o) -> auto& { return o.hypernet.task_layer; },
                  "hidden width of the task-specific MLP (tal); 0 = identity, as the released TAL code")
            .range(0));
}

template <class Opts>
void add_threads_option(OptionTable<Opts>& t) {
  t.add(opt<Opts>("threads", [](auto& o) -> auto& { return o.threads; }, "intra-op threads per process (0: LibTorch's default)")
            .alias("--threads")
            .range(0));
}

}  // namespace tal
