// One fine-tuning run: a descendant trained (every parameter, or as a transfer method says) from its initial weights on a task's training
// split, its validation slice left out, with one ordinary recipe (AdamW at the run's peak rate, linear warm-up +
// cosine, label smoothing, the task's augmentation), with the test accuracy (and Matthews correlation) at step 0
// (zero-shot), after every evaluation interval and at the end (whole test split), and the validation scores at the
// end (the whole slice): what the protocol's choices are made on.
#pragma once

#include <functional>

#include "datasets/tasks.h"
#include "trainer/config/commands.h"
#include "hypernet/targets.h"
#include "trainer/finetune/methods/method.h"
#include "trainer/finetune/protocol.h"

namespace tal {

struct RunOutcome {
  bool completed = false;  // false: stopped at a step boundary by `stop`
  std::vector<int64_t> eval_steps;
  std::vector<double> accuracy, loss;
  std::vector<double> mcc;  // classification: the Matthews correlation at each evaluation (empty for a corpus)
  double val_accuracy = -1, val_mcc = -1;  // on the validation slice after the last step (-1: no slice)
  double seconds = 0;
};

// Trains `params` in place on the training positions of `split` at peak rate `lr`: every parameter, or what
// `method` (methods/method.h, attached to `params`) trains, stage by stage (each stage its own warm-up and cosine
// over its steps). `stop` is asked at every step boundary (preemption).
RunOutcome finetune_run(const ArchSpec& spec, ParamMap& params, const Task& task, const TrainValSplit& split,
                        const FinetuneOptions& recipe, double lr, uint64_t seed, const std::function<bool()>& stop,
                        Adaptation* method = nullptr);

// The evaluation steps of the recipe: 0, eval_every, 2 eval_every, ..., steps.
std::vector<int64_t> evaluation_steps(const FinetuneOptions& recipe);

}  // namespace tal
