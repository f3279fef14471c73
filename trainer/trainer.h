// The training loop (DESIGN.md 4.4) for stage 1 (CE + KD from the ancestry on the large dataset), stage 2
// (multi-task tuning with task FiLM) or both in one run, for TAL and the GHN-3 / LoGAH baselines alike.
// The global meta-batch of a step is a pure function of (seed, step); ranks take balanced shares of it and
// all-reduce only hypernetwork gradients, so N ranks train the same hypernetwork as one.
#pragma once

#include <memory>
#include <string>

#include "dist/communicator.h"
#include "trainer/options.h"

namespace tal {

struct ResumeRequest {
  bool allowed = true;       // --no-resume refuses a checkpoint in the run directory
  std::string from;          // --resume-from FILE (or a run directory)
};

// Seconds spent in each part of the steps timed so far (for tal bench step).
struct StepTimings {
  double plan = 0, data_wait = 0, graphs = 0, hypernet_forward = 0, target_forward = 0, target_backward = 0,
         hypernet_backward = 0, allreduce = 0, optimizer = 0, total = 0;
  int64_t steps = 0, images = 0, archs = 0;
};

class Trainer {
 public:
  Trainer(const TalOptions& options, std::string config_yaml, Communicator& comm, const ResumeRequest& resume);
  ~Trainer();
  // Runs to train.steps (or until preempted). Returns 0, or kPreemptedExitCode after writing a checkpoint.
  int run();
  // Runs `n` steps without logging or checkpoints; for benchmarks.
  void run_steps(int64_t n);
  const StepTimings& timings() const;
  void reset_timings();
  // Hypernet parameters, in registration order (for tests comparing ranks and runs).
  std::vector<std::pair<std::string, at::Tensor>> hypernet_parameters() const;
  int64_t step() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tal
