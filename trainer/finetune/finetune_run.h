// One fine-tuning run: every parameter of a descendant trained from its initial weights on a task's training
// split with one ordinary recipe (AdamW, linear warm-up + cosine, label smoothing, the task's augmentation), with
// the test accuracy (and Matthews correlation) at step 0 (zero-shot), after every evaluation interval and at the end
// (whole test split).
#pragma once

#include <functional>

#include "datasets/tasks.h"
#include "trainer/config/commands.h"
#include "hypernet/targets.h"

namespace tal {

struct RunOutcome {
  bool completed = false;  // false: stopped at a step boundary by `stop`
  std::vector<int64_t> eval_steps;
  std::vector<double> accuracy, loss;
  std::vector<double> mcc;  // classification: the Matthews correlation at each evaluation (empty for a corpus)
  double seconds = 0;
};

// Trains `params` in place. `stop` is asked at every step boundary (preemption).
RunOutcome finetune_run(const ArchSpec& spec, ParamMap& params, const Task& task, const FinetuneOptions& recipe,
                        uint64_t seed, const std::function<bool()>& stop);

// The evaluation steps of the recipe: 0, eval_every, 2 eval_every, ..., steps.
std::vector<int64_t> evaluation_steps(const FinetuneOptions& recipe);

}  // namespace tal
