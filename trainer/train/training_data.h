// The data a training run reads: the stage-1 dataset as a task, the suite's multi-task and held-out tasks, their
// task embeddings (TAL) and the ancestry teacher (stage-1 distillation), checked against each other and against
// the zoo's data shape before the first step.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "datasets/tasks.h"
#include "hypernet/arch_spec.h"
#include "trainer/config/options.h"
#include "trainer/files/ancestry_file.h"

namespace tal {

struct TrainingData {
  // Task 0 is the stage-1 dataset (when stage 1 runs); the stage-2 training tasks follow; held-out tasks last.
  std::vector<Task> tasks;
  std::vector<int64_t> pretrain_tasks, multitask_tasks, heldout_tasks;
  std::map<std::string, at::Tensor> embeddings;  // by task name (tal)
  std::unique_ptr<AncestryModel> teacher;        // stage 1 with kd_weight > 0

  bool is_heldout(int64_t task) const;
};

// `stage1` / `stage2`: whether the run has steps of that stage.
TrainingData load_training_data(const TalOptions& o, bool stage1, bool stage2);

// What a task fixes about the architectures trained on it.
DataShape data_shape(const Task& task);

// A spec for this task: keys the text omits come from what the task fixes and the family's defaults for such data.
// Throws naming the spec and the task when it does not fit.
ArchSpec spec_for_task(const std::string& text, const Task& task);

}  // namespace tal
