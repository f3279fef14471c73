// Task embeddings (DESIGN.md 4.3): the mean ancestry feature over a task's training images (the first
// `images` of them, or all), recomputed only when the task definition or the ancestry model changed.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "datasets/tasks.h"
#include "trainer/files/ancestry_file.h"

namespace tal {

at::Tensor compute_task_embedding(const AncestryModel& ancestry, const Task& task, int64_t images = 0,
                                  int64_t batch = 500);

struct EmbedReport {
  std::vector<std::string> computed, reused;
};

// Brings the file at `path` up to date for `tasks` (atomically rewritten when anything changed).
EmbedReport update_task_embeddings(const std::string& path, const AncestryModel& ancestry,
                                   const std::vector<Task>& tasks, int64_t images = 0);

}  // namespace tal
