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

struct DataOptions {
  std::string root = "data";
};

struct TasksOptions {
  std::string suite = "configs/tasks/fmnist_suite.yaml";
  std::vector<std::string> train;    // task names for multi-task training (empty: every non-held-out task)
  std::vector<std::string> heldout;  // task names for transfer evaluation (empty: the suite's held-out tasks)
  std::string embeddings = "data/task_embeddings.h5";
  double temperature = 2.0;          // p(task) ~ (n_task / N)^(1/T)
};

struct AncestryOptions {
  std::string checkpoint = "runs/ancestry/ancestry.h5";
  std::string dataset = "fmnist.h5";
  std::string arch = "vit:depth=4,width=64,heads=4,mlp=128,patch=4,image=28,channels=1,classes=10";
  int64_t epochs = 12;
  int64_t batch = 128;
  double lr = 2e-3;
  double weight_decay = 0.05;
  int64_t warmup = 300;
  double label_smoothing = 0.1;
  double clip = 1.0;
  int64_t crop_padding = 2;
  bool flip = true;
  int64_t max_steps = 0;
  int64_t log_every = 100;
};

struct TrainOptions {
  std::string stage = "pretrain";  // pretrain (stage 1: CE + KD from the ancestry) | multitask (stage 2) | both
  int64_t pretrain_steps = 50;     // stage=both: stage-1 steps before train.steps of stage 2
  std::string dataset = "fmnist.h5";  // stage-1 training data (the large dataset)
  std::string transform = "none";     // stage-1 image transform (rgb32: grey 28x28 as RGB 32x32)
  int64_t steps = 100;
  int64_t meta_batch = 4;  // work units (architectures) per step
  int64_t batch = 64;      // images per work unit
  double lr = 3e-4;
  double weight_decay = 0.01;
  int64_t warmup = 10;
  double clip = 5.0;
  double label_smoothing = 0.1;
  double kd_weight = 0.2;       // stage 1: (1 - w) CE + w T^2 KL(teacher || student)
  double kd_temperature = 3.0;
  double reg_weight = 3e-5;     // x sum of predicted-tensor Frobenius norms
  double ema = 0.0;             // EMA decay of hypernet weights (0: off)
  int64_t max_bad_steps = 5;    // abort after this many consecutive non-finite steps
  int64_t log_every = 1;
  int64_t eval_every = 0;       // evaluate held-out architectures every N steps (0: at the end only)
  int64_t eval_archs = 2;
  int64_t eval_images = 1000;
  std::string init;             // stage 2: the stage-1 checkpoint to start from
  int64_t until_step = 0;       // stop (with a checkpoint) once this step is done; resume continues the schedule
};

struct CheckpointOptions {
  int64_t every = 0;      // steps between checkpoints (0: only at the end and on preemption)
  int64_t keep = 3;       // keep the last K
  int64_t keep_every = 0; // and every M-th step's (0: none)
};

struct DistOptions {
  std::string backend = "auto";  // auto | mpi | nccl | local
  double watchdog_seconds = 300;  // a collective that does not complete in this time aborts the job
};

// Every section every subcommand shares: one declarative table, so one config file serves every command.
struct TalOptions {
  RunOptions run;
  DataOptions data;
  ZooOptions zoo;
  HypernetConfig hypernet;
  TasksOptions tasks;
  AncestryOptions ancestry;
  TrainOptions train;
  CheckpointOptions checkpoint;
  DistOptions dist;
  int64_t threads = 0;
  void validate(const std::string& origin) const;
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

template <class Opts>
void add_tal_options(OptionTable<Opts>& t);

}  // namespace tal

#include "trainer/options_table.h"
