// The schedule of a training run, shared by tal train and tal ancestry train: run the steps, and after each decide
// when to log, evaluate, save a checkpoint and stop (the end, train.until_step, or a preemption signal that all
// ranks agree on at the step boundary).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tal {

struct LoopSchedule {
  int64_t total_steps = 0;
  int64_t log_every = 1;
  int64_t eval_every = 0;          // 0: only at `eval_at`
  std::vector<int64_t> eval_at;    // steps done after which to evaluate as well (stage ends)
  int64_t checkpoint_every = 0;    // 0: at the end and on preemption only
  int64_t until_step = 0;          // stop with a checkpoint once this step is done (0: off)
};

struct LoopHooks {
  std::function<void(int64_t step)> step;  // runs step `step` (0-based)
  // After step `done` - 1: how long it took, how long the loop has run and how many steps it has run.
  std::function<void(int64_t done, double step_seconds, double elapsed, int64_t done_here)> log;
  std::function<void(int64_t done)> evaluate;
  std::function<void()> save;              // writes a checkpoint (every rank calls it)
  std::function<bool(bool)> any_rank;      // true on every rank if `flag` is true on any
  std::function<void(const std::string&)> say;  // a line from rank 0
};

// Runs from step `first`. Returns 0 (done, or stopped at until_step) or kPreemptedExitCode (checkpoint written).
int run_loop(int64_t first, const LoopSchedule& schedule, const LoopHooks& hooks);

// "12m05s" / "1h02m".
std::string duration_text(double seconds);

}  // namespace tal
