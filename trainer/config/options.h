// Typed options of the components every command shares (DESIGN.md 4.6), one struct per section. The table entries
// that fill them are in shared_options.h; each command's own section is in commands.h.
#pragma once

#include <cstdint>
#include <set>
#include <utility>
#include <string>
#include <vector>

#include "hypernet/arch_spec.h"
#include "hypernet/hypernet_config.h"
#include "hypernet/zoo.h"

namespace tal {

struct RunOptions {
  std::string dir = "runs/default";
  int64_t seed = 0;
  int64_t memory_limit = 0;  // bytes a configuration may need (0: this machine's physical memory)
};

struct DataOptions {
  std::string root = "data";
  int64_t memory_limit = int64_t{2} << 30;  // a split larger than this many bytes is streamed from disk
};

struct ZooOptions {
  std::string family = "vit";
  std::string rules = "vits-1k";
  std::string profile = "paper";
  // What the data fixes when no task says (tal zoo sample).
  int64_t image = 32;
  int64_t channels = 3;
  int64_t classes = 0;  // 0: the family's (ViT 10; GPT-2 0, the language-model head)
  int64_t max_width = 0;  // draws wider than this are drawn again (0: no cap)
  int64_t vocab = 50257;
  int64_t context = 1024;
  // Throws naming `origin` when family and rules disagree.
  void validate(const std::string& origin) const;
  ZooRules rules_for(const DataShape& data) const;
  DataShape data() const;  // image, channels, classes, vocab and context above
};

struct TasksOptions {
  std::string suite = "configs/tasks/fmnist_suite.yaml";
  std::vector<std::string> train;    // task names for multi-task training (empty: every non-held-out task)
  std::vector<std::string> heldout;  // task names for transfer evaluation (empty: the suite's held-out tasks)
  std::string embeddings = "data/task_embeddings.h5";
  double temperature = 2.0;          // p(task) ~ (n_task / N)^(1/T)
  int64_t embed_images = 0;          // training images averaged per task embedding (0: all)
};

struct AncestryOptions {
  std::string checkpoint = "runs/ancestry/ancestry.h5";
  std::string dataset = "fmnist.h5";
  std::string arch = "vit:depth=4,width=64,heads=4,mlp=128,patch=4";  // keys the data fixes may be left out
  std::vector<std::string> classes;  // train on these classes of the dataset only (empty: all); the rest stay unseen
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

// pretrain (stage 1: CE + KD from the ancestry) | multitask (stage 2) | both
const std::vector<std::string>& train_stage_names();

struct TrainOptions {
  std::string stage = "pretrain";
  int64_t pretrain_steps = 50;        // stage=both: stage-1 steps before train.steps of stage 2
  std::string dataset = "fmnist.h5";  // stage-1 training data (the large dataset)
  std::string transform = "none";     // stage-1 image transform (rgb32: grey 28x28 as RGB 32x32)
  std::vector<std::string> classes;   // stage 1 on these classes of its dataset only (empty: all); stage-2 tasks on
                                      // the same store must then keep to them
  int64_t steps = 100;
  int64_t meta_batch = 4;  // work units (architectures) per step
  int64_t batch = 64;      // images per work unit
  int64_t chunk_images = 16;  // a unit's images come in chunks of this many, each chunk's gradient computed alone, so
                              // ranks can share a unit and still sum what one rank sums (0: a unit is one chunk)
  double lr = 3e-4;
  double weight_decay = 0.01;
  int64_t warmup = 10;
  double clip = 5.0;
  double label_smoothing = 0.1;
  double kd_weight = 0.2;       // stage 1: (1 - w) CE + w T^2 KL(teacher || student)
  double kd_temperature = 3.0;
  double reg_weight = 3e-5;     // x sum of predicted-tensor Frobenius norms
  std::string autocast = "auto"; // auto | off | bf16: the target models' forward (and backward) in bfloat16 matmuls;
                                 // auto is bf16 on a GPU or a CPU with bf16 instructions (2x faster here, no accuracy
                                 // cost measured), else off
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
  std::string backend = "auto";   // dist_backend_names()
  double watchdog_seconds = 300;  // a collective that does not complete in this time aborts the job
};

// Fault injection for the end-to-end tests; off by default.
struct DebugOptions {
  std::string nan_steps;            // "rank:step,...": that rank's loss is non-finite at that (1-based) step
  std::string oom_steps;            // "rank:step,...": that rank runs out of memory in that (1-based) step
  int64_t checkpoint_delay_ms = 0;  // stall each checkpoint write half-way (to kill the writer mid-write)
  // nan_steps and oom_steps as (rank, step) pairs; throw naming the key when malformed.
  std::set<std::pair<int64_t, int64_t>> nan_step_set() const;
  std::set<std::pair<int64_t, int64_t>> oom_step_set() const;
};

// Every section the commands share: one declarative table, so one config file serves every command.
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
  DebugOptions debug;
  int64_t threads = 0;
  std::string device = "auto";  // auto | cpu | cuda (dist/device.h)
  void validate(const std::string& origin) const;
  // Refuses, before anything is allocated, a hypernetwork whose estimated memory is above run.memory_limit.
  void check_memory(bool training) const;
  // The same for one target architecture to be predicted (its weights, plus the decoder's blocks and tiling
  // copies: 12 bytes per parameter).
  void check_target_memory(const ArchSpec& spec) const;
};

// Estimated bytes of a hypernetwork: for training, weights, gradients, AdamW moments, the double-precision
// all-reduce buffer, the gradient copy and a checkpoint snapshot (36 bytes per parameter); for prediction, the
// weights and the checkpoint they are read from (8 bytes per parameter).
int64_t hypernet_memory_estimate(const HypernetConfig& config, bool training);
// This machine's physical memory in bytes.
int64_t physical_memory_bytes();

}  // namespace tal
