// Each command's option table: the shared sections (shared_options.h) plus the command's own section, so no key
// or flag is defined twice in one table (bench.steps is `--steps` in `tal bench step`, train.steps in `tal train`).
#pragma once

#include <string>
#include <vector>

#include "trainer/config/option_table.h"
#include "trainer/config/options.h"

namespace tal {

struct ResumeOptions {       // tal train
  std::string from;          // --resume-from FILE or run directory
  bool disabled = false;     // --no-resume: refuse to continue a checkpoint found in run.dir
};

struct BenchOptions {        // tal bench ...
  int64_t steps = 5;         // step: timed steps
  int64_t warmup = 2;        // step: untimed steps first
  bool synthetic = false;    // step: random inputs of the zoo's size instead of the configured data
  std::string arch = "vit:depth=12,width=192,heads=3,patch=16,image=224,channels=3,classes=1000";  // predict
  int64_t repeats = 20;      // predict, allreduce
  int64_t batches = 100;     // loader
  int64_t elements = 0;      // allreduce: buffer size (0: the hypernet's gradient buffer)
  std::vector<std::string> ranks;  // plan: world sizes to plan for
};

struct PredictCommandOptions {  // tal predict
  std::string checkpoint;       // checkpoint file or run directory
  std::string task;
  std::string out;
  std::string zoo;              // zoo file from tal zoo sample
  int64_t n = 0;                // how many of its architectures (0: all)
  bool no_ema = false;
};

struct EvalCommandOptions {  // tal eval
  std::string archive;
  std::string task;
  std::string arch_id;       // one model (default: all)
  std::string logits_out;    // also write the first test images and each model's logits here
  int64_t probe_images = 8;
};

// tal finetune: the grid of (task, architecture, initialisation, seed) runs and the one recipe each run trains with.
struct FinetuneOptions {
  std::vector<std::string> tasks;  // task names from tasks.suite (empty: every task of the suite)
  std::vector<std::string> archs;  // descendant specs; keys a task fixes (image, channels, classes) may be omitted
  std::vector<std::string> inits = {"tal", "logah", "ghn3", "random", "ancestry-select", "tal-no-film"};
  std::string tal, logah, ghn3;    // checkpoint file or run directory of each hypernetwork
  std::string tal_inherit;         // ... of the inheriting TAL hypernetwork (initialisation tal-inherit)
  int64_t seeds = 3;
  int64_t steps = 100;
  int64_t batch = 32;
  std::vector<std::string> lr = {"3e-4", "1e-3", "3e-3"};  // peak learning rates: a grid axis; each initialisation
                                                           // is reported at the one its validation score chose
  double val_fraction = 0.1;       // of each task's training split, held back (seeded, fixed) for every choice
  std::vector<std::string> heads = {"predicted"};  // on a label space an initialisation was not trained on:
                                                   // reset (the family's fresh head, the same for every
                                                   // initialisation) | predicted (kept as predicted)
  std::vector<std::string> methods = {"full"};  // transfer methods with their budgets, a grid axis
                                                // (trainer/finetune/methods/method.h): full, head, ln, lora:r=4, ...
  std::vector<std::string> port_from;  // origins "init/task" of ported modules: each lora/adapter cell also runs
                                       // with its modules trained on that origin's host (ported, and sampled)
  double tuned_lr = 0;  // the peak rate of a tuned host's own full run (finetune.inits INIT>TASK); 0: the cell's rate
  double noise_beta = 1e-5;        // symmetry-breaking noise on predicted tensors (ppuda's init(beta)); 0: off
  std::string tiled_embeddings = "predicted";  // a predicted embedding table longer than the decoder's block (GPT-2's
                                              // 50,257-row wte, repeating every max_shape rows): ancestry (weight
                                              // selection from the ancestry) | fresh (the family's init) | predicted
  double weight_decay = 0.05;
  int64_t warmup = 10;
  double label_smoothing = 0.1;
  double clip = 1.0;
  int64_t eval_every = 25;         // test accuracy after every N steps (and at step 0: zero-shot)
  int64_t eval_images = 1000;      // test images per interim evaluation (0: all); the final one uses all
  std::string save_weights;        // also write every fine-tuned model to this archive
  // finetune.lr as numbers; throws naming the key for anything not a finite rate >= 0.
  std::vector<double> learning_rates() const;
};

struct SampleOptions {  // tal zoo sample
  int64_t n = 1000;
  std::string out;
};

struct ImportOptions {  // tal data import
  std::string out;
  std::string from = "/usr/share/datasets/fashion-mnist";
  int64_t size = 32;
  int64_t test_every = 10;
  bool skip_corrupt = false;  // folder: leave corrupt images out (and count them) instead of failing
  // Text importers (table, text-folder, fortunes, spam-assassin).
  std::vector<std::string> text_column;  // table: the text column(s), names or 0-based indices
  std::string label_column;              // table: the label column
  std::string test;                      // table: a separate test table (GLUE's dev.tsv); else every test_every-th row
  bool header = true;                    // table: the first row names the columns
  int64_t max_tokens = 256;              // texts are truncated to this many BPE tokens
  std::string tokenizer;                 // directory of encoder.json + vocab.bpe ("": $TAL_TOKENIZER_DIR or data/gpt2)
};

struct CommandOptions : TalOptions {
  ResumeOptions resume;
  BenchOptions bench;
  PredictCommandOptions predict;
  EvalCommandOptions eval;
  SampleOptions sample;
  FinetuneOptions finetune;
  ImportOptions data_import;
  // The shared checks, then flags that contradict each other.
  void validate(const std::string& origin) const;
};

// "train", "predict", "eval", "ancestry train", "tasks embed", "zoo sample", "zoo show", "hypernet info",
// "bench predict", "bench step", "bench plan", "bench allreduce", "bench loader", "data import",
// "finetune", "report".
const std::vector<std::string>& command_names();
// Throws (an internal error) for a name not in command_names().
OptionTable<CommandOptions> command_table(const std::string& command);
// The shared sections alone: what a run's checkpoint stores as its resolved configuration.
OptionTable<TalOptions> run_config_table();

}  // namespace tal
