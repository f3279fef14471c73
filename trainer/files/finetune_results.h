// Fine-tuning results (DESIGN.md 4.5): runs/NAME/finetune.h5, one group per cell (task, architecture,
// initialisation, seed) under /cells/<key>, keyed by the hash of everything that defines the cell, with its
// accuracy and loss curves, steps to fractions of the best final accuracy, final accuracy and wall time; /inits/
// holds what each initialisation came from (checkpoint, its step and hash, hypernet size, prediction time). The
// whole file is rewritten to a temporary name and renamed over on every update: it is never half-written.
// Version 2 adds each classification cell's Matthews-correlation curve and the task's headline metric (accuracy, or
// MCC for a CoLA-like task). Version 3 adds the fair protocol (DESIGN.md 4.4a): each cell's learning rate (a grid
// axis), its head choice, its final validation scores, whether its architecture lies inside the hypernetworks'
// training zoo, and the task's kind (seen, held out, class-disjoint held out). Version 4 adds the transfer method
// of each cell with its budget (a grid axis: full, head, ln, lora:r=4, ...) and its parameter counts (trained,
// stored per task, and the host's shared embedding tables), and for a ported module where it came from. Versions 1
// to 3 are still read (their cells: full).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tal {

struct FinetuneCell {
  std::string key;                  // hash of what defines the cell (task, spec, init and its source, seed, recipe)
  std::string task, arch, spec, arch_id, init;  // arch: as the grid names it; spec, arch_id: fitted to the task
  int64_t seed = 0;
  bool heldout = false;
  std::string task_kind = "seen";   // seen | held-out | class-disjoint (held out, no class the ancestry saw)
  double lr = 0;                    // the run's peak learning rate (one of finetune.lr)
  std::string head = "own";         // reset | predicted on a label space the initialisation was not trained on,
                                    // "own" where there is no choice (a seen task; an init with no predicted head)
  bool in_zoo = false;              // the architecture can be drawn from the hypernetworks' training zoo
  int64_t params = 0;
  std::string method = "full";      // the transfer method with its budget (methods/method.h), e.g. lora:r=4,...
  int64_t trainable = 0;            // parameters the optimiser updated over the run (full: params)
  int64_t stored = 0;               // parameters stored per task to rebuild its model from the shared host
  int64_t shared_embeddings = -1;   // of params, the token/position tables every task shares (GPT-2's wte, wpe);
                                    // -1: not recorded (files before version 4)
  int64_t stored_shared = -1;       // of stored, the shared tables' parameters (full: all of them; -1: unknown)
  int64_t suite_stored = 0;         // stored once for the whole suite besides the host: a multi-task method's
                                    // sources (ScaLearn: every task's adapter, heads apart); 0 before version 5
  std::string port;                 // "" | ported | sampled: the method's modules came from a run on another host
  std::string port_from;            // that run's initialisation/task ("tal/fmnist-footwear"), "" when not ported
  std::vector<int64_t> eval_steps;  // 0 (zero-shot), eval_every, ..., steps
  std::vector<double> accuracy;     // test accuracy after each of them (the last on the whole test split)
  std::vector<double> mcc;          // classification: the Matthews correlation at the same evaluations
  std::string metric = "accuracy";  // the task's headline metric (TaskDef::metric): accuracy | mcc
  std::vector<double> loss;         // training loss of every step
  double val_accuracy = -1, val_mcc = -1;  // on the validation slice after the last step (-1: none, a v1/v2 file)
  // The initial weights' layers (protocol.h BodyStats): mean cross-layer |cosine|, stable rank, std (-1: none).
  double body_cosine = -1, body_stable_rank = -1, body_std = -1;
  std::vector<int64_t> steps_to;    // per fraction: first eval step reaching it of the best final score, or -1
  double seconds = 0;               // wall time of the run (initialisation, training and evaluations)
  double init_ms = 0;               // of which making the initial weights (a prediction, a selection, an init)
  // The method as the protocol tells runs apart (learning rates are chosen per variant): "lora:r=4,...", or
  // "lora:r=4,... ported from tal/fmnist-footwear".
  std::string variant() const { return port.empty() ? method : method + " " + port + " from " + port_from; }
  double final_accuracy() const { return accuracy.empty() ? 0.0 : accuracy.back(); }
  double final_mcc() const { return mcc.empty() ? 0.0 : mcc.back(); }
  double zero_shot() const { return accuracy.empty() ? 0.0 : accuracy.front(); }
  // The curve of the headline metric.
  const std::vector<double>& score() const { return metric == "mcc" ? mcc : accuracy; }
  double final_score() const { return score().empty() ? 0.0 : score().back(); }
  // The headline metric on the validation slice: what every choice is made on.
  double val_score() const { return metric == "mcc" ? val_mcc : val_accuracy; }
};

struct FinetuneInit {
  std::string name;         // tal, logah, ghn3, random, ancestry-select, tal-no-film
  std::string source;       // checkpoint or ancestry file ("" for random)
  std::string source_hash;  // content hash of its weights
  int64_t source_step = 0;
  int64_t hypernet_params = 0;  // 0 when no hypernetwork predicts it
  double predict_ms = 0;        // mean time to make one descendant's initial weights (over the file's runs)
};

struct FinetuneResults {
  std::vector<double> fractions = {0.8, 0.9, 0.95, 0.99};
  std::vector<FinetuneInit> inits;  // in the grid's order
  std::vector<FinetuneCell> cells;
  std::string recipe;  // the training recipe every cell was made with (one per file; learning rates are an axis)
  std::string config_yaml;
};

// Fills every cell's steps_to: the best final score of a (task, architecture, method) is the best mean over seeds of
// one initialisation's final score (its headline metric) at its chosen learning rate (finetune_statistics.h); a run
// reaches fraction f at the first evaluation at or above f times it.
void compute_steps_to(FinetuneResults& results);

void write_finetune_results(const std::string& path, const FinetuneResults& results);
// Throws naming the file for anything that is not a TAL fine-tuning results file of a known version.
FinetuneResults read_finetune_results(const std::string& path);

// The statistics every summary of a grid reports: the mean, the sample standard deviation (0 below two values),
// and, per seed of (task, init), the mean over the grid's architectures of `value` (seeds in order).
double mean(const std::vector<double>& v);
double sample_std(const std::vector<double>& v);
std::vector<double> seed_means(const FinetuneResults& r, const std::string& task, const std::string& init,
                               const std::function<double(const FinetuneCell&)>& value);

// RUN_DIR/modules/KEY.safetensors: the stored tensors (modules and head) of a source run, which its multi-task runs
// read, and of a multi-task run (ScaLearn's scales, which tal report draws), written by rank 0 before the results file
// records the run; a recorded source run whose file is missing is run again.
std::string kept_modules_path(const std::string& run_dir, const std::string& key);

}  // namespace tal
