// The task-embedding file (tal-task-embeddings): one embedding per task, stored with the hash of the task's
// definition and of the ancestry model that computed it, so stale embeddings are recognised.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <string>
#include <vector>

#include "datasets/tasks.h"

namespace tal {

struct StoredEmbedding {
  at::Tensor embedding;  // float [width]
  std::string task_hash, ancestry_hash;
  int64_t images = 0;    // training images averaged (0: all)
};

// Every stored embedding by task name; empty when the file does not exist.
std::map<std::string, StoredEmbedding> read_task_embeddings(const std::string& path);
// Writes the file atomically.
void write_task_embeddings(const std::string& path, const std::map<std::string, StoredEmbedding>& embeddings);

// Embeddings for `tasks`; throws naming the task when one is missing or stale (another definition, or another
// ancestry model when `ancestry_hash` is given).
std::map<std::string, at::Tensor> load_task_embeddings(const std::string& path, const std::vector<Task>& tasks,
                                                       const std::string& ancestry_hash);

}  // namespace tal
