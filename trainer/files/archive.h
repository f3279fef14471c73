// Predicted-weight archives (DESIGN.md 4.5): /<task>/<arch-id>/<param name> datasets, each model group carrying
// its spec, task, class names, the checkpoint's step and content hash and the hypernet variant. Appending copies
// the archive to a temporary file, adds to the copy and renames it over: an archive is never half-written.
#pragma once

#include <string>
#include <vector>

#include "datasets/tasks.h"
#include "hypernet/arch_spec.h"
#include "hypernet/targets.h"

namespace tal {

struct ArchiveModel {
  std::string task;
  std::string arch_id;
  ArchSpec spec;
  ParamMap params;
  // Provenance and what the task was (so `tal eval` can rebuild it from a data root alone).
  TaskDef task_def;
  std::vector<std::string> classes;
  int64_t checkpoint_step = 0;
  std::string checkpoint_hash, hypernet_variant;
};

// Adds (or replaces) models; creates the archive if absent. Refuses a file that is not a TAL archive.
void append_to_archive(const std::string& path, const std::vector<ArchiveModel>& models);

std::vector<std::string> archive_tasks(const std::string& path);
std::vector<std::string> archive_models(const std::string& path, const std::string& task);
ArchiveModel read_archive_model(const std::string& path, const std::string& task, const std::string& arch_id);

}  // namespace tal
