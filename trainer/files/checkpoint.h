// HDF5 checkpoints (DESIGN.md 4.5): runs/NAME/ckpt/step_XXXXXXXX.h5 written to a temporary name, fsync'd and
// renamed, then the `latest` pointer updated (itself atomically), so `latest` only ever names a complete file.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace tal {

constexpr int64_t kCheckpointFormat = 2;  // 2: base_hash (inheriting hypernetworks); 1 still read

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

struct TrainState {
  int64_t step = 0;             // steps completed, counted across stages
  int64_t bad_steps = 0;        // consecutive non-finite steps
  int64_t skipped_steps = 0;    // all non-finite steps skipped so far
  int64_t optimizer_steps = 0;  // AdamW's step count (bias correction)
  std::vector<int64_t> cursors; // task-sampler stream cursors
};

struct Checkpoint {
  // What was trained: "hypernet" (tal train) or "ancestry" (tal ancestry train); its weights live in /<model>.
  std::string model = "hypernet";
  TrainState state;
  NamedTensors weights, exp_avg, exp_avg_sq, ema;
  std::vector<at::Tensor> rng;  // every rank's LibTorch generator state, by rank
  std::string config_yaml;      // the resolved configuration
  std::string hypernet_variant, hypernet_describe;  // the model's kind and one-line description
  std::string base_hash;        // an inheriting hypernetwork (hypernet.base=ancestry): its ancestry's content hash
  int64_t world = 1;
  std::string git_revision;
};

std::string checkpoint_dir(const std::string& run_dir);
std::string checkpoint_name(int64_t step);

struct CheckpointRetention {
  int64_t keep = 3;        // the newest K files
  int64_t keep_every = 0;  // and every M-th step's (0: none)
};

// Writes ckpt/step_XXXXXXXX.h5 and then ckpt/latest; keeps what `retention` says and removes the rest. Returns the
// path written. `midway`, when given, runs half-way through writing the file (tests stall there to kill the writer).
std::string write_checkpoint(const std::string& run_dir, const Checkpoint& ckpt, const CheckpointRetention& retention,
                             const std::function<void()>& midway = {});

// The file `latest` names, or "" when the run has none. Throws if `latest` names a missing file.
std::string latest_checkpoint(const std::string& run_dir);

// The checkpoint a run continues from: `from` (a file, or a run directory's latest) when given, else run_dir's
// latest ("" for a fresh run). With `allowed` false, a checkpoint in run_dir is an error (--no-resume).
std::string checkpoint_to_resume(const std::string& run_dir, const std::string& from, bool allowed);

// Reads and validates (kind, format version, consistent groups); errors name the file and what is wrong.
Checkpoint read_checkpoint(const std::string& path);

// Throws naming the first parameter whose name or shape differs: the checkpoint was made by another model.
void check_compatible(const std::string& path, const Checkpoint& ckpt, const NamedTensors& expected_params);

}  // namespace tal
