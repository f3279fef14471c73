// tal train (DESIGN.md 4.4): stage 1 (CE + KD from the ancestry on the large dataset), stage 2 (multi-task tuning
// with task FiLM) or both in one run, for TAL and the GHN-3 / LoGAH baselines alike. A step is planned (a pure
// function of seed, step and cursors), its units' gradients are computed where the plan puts them, one flat buffer
// is all-reduced, and the reduced update is applied on every rank: N ranks train the same hypernetwork as one.
// This file holds the set-up and the step; run_loop.h decides when to evaluate, save and stop.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dist/communicator.h"
#include "trainer/config/options.h"
#include "trainer/train/step_timings.h"

namespace tal {

struct ResumeRequest {
  bool allowed = true;  // --no-resume refuses a checkpoint in the run directory
  std::string from;     // --resume-from FILE (or a run directory)
};

class Trainer {
 public:
  Trainer(const TalOptions& options, std::string config_yaml, Communicator& comm, const ResumeRequest& resume);
  ~Trainer();
  // Runs to the end of the schedule (or until preempted). Returns 0, or kPreemptedExitCode after a checkpoint.
  int run();
  // Runs `n` steps without logging, evaluation or checkpoints; for benchmarks and tests.
  void run_steps(int64_t n);
  const StepTimings& timings() const;
  void reset_timings();
  // The hypernetwork's parameters in registration order (values, not copies).
  std::vector<std::pair<std::string, at::Tensor>> hypernet_parameters() const;
  int64_t step() const;
  // Where the steps run ("cpu", "cuda:0") and whether the target models run in bf16 autocast.
  std::string device() const;
  bool autocast_bf16() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tal
