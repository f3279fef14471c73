// Task embeddings: the mean ancestry feature (class token after the final LayerNorm) over a task's training
// images, stored in HDF5 with the task definition's hash and the ancestry model's hash, and recomputed only when
// either changes.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <string>
#include <vector>

#include "datasets/tasks.h"
#include "trainer/ancestry.h"

namespace tal {

at::Tensor compute_task_embedding(const AncestryModel& ancestry, const Task& task, int64_t batch = 500);

struct EmbedReport {
  std::vector<std::string> computed, reused;
};

// Brings the file at `path` up to date for `tasks` (atomically rewritten when anything changed).
EmbedReport update_task_embeddings(const std::string& path, const AncestryModel& ancestry,
                                   const std::vector<Task>& tasks);

// Embeddings for `tasks`; throws naming the task when one is missing or stale.
std::map<std::string, at::Tensor> load_task_embeddings(const std::string& path, const std::vector<Task>& tasks,
                                                       const std::string& ancestry_hash);

}  // namespace tal
