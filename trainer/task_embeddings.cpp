#include "trainer/task_embeddings.h"

#include <filesystem>

#include "datasets/atomic_file.h"
#include "datasets/h5.h"
#include "hypernet/error.h"

namespace tal {
namespace {

struct Stored {
  at::Tensor embedding;
  std::string task_hash, ancestry_hash;
};

std::map<std::string, Stored> read_all(const std::string& path) {
  std::map<std::string, Stored> out;
  if (!std::filesystem::exists(path)) return out;
  H5File f(path, H5File::Mode::Read);
  TAL_REQUIRE(f.has_attr("/", "kind") && f.attr_str("/", "kind") == "tal-task-embeddings", path,
              ": not a task-embedding file");
  if (!f.exists("/tasks")) return out;
  for (const auto& name : f.children("/tasks")) {
    const std::string g = "/tasks/" + name;
    out[name] = {f.read(g + "/embedding"), f.attr_str(g, "task_hash"), f.attr_str(g, "ancestry_hash")};
  }
  return out;
}

}  // namespace

at::Tensor compute_task_embedding(const AncestryModel& ancestry, const Task& task, int64_t batch) {
  at::NoGradGuard guard;
  const auto shape = task.image_shape();
  TAL_REQUIRE(shape[0] == ancestry.spec.channels && shape[1] == ancestry.spec.image, "task '", task.def().name,
              "': images ", shape[0], "x", shape[1], "x", shape[2], " do not fit the ancestry model ", ancestry.spec.str());
  const int64_t n = task.size(Split::Train);
  at::Tensor sum = at::zeros({ancestry.spec.width}, at::kDouble);
  for (int64_t start = 0; start < n; start += batch) {
    std::vector<int64_t> pos;
    for (int64_t i = start; i < std::min(n, start + batch); ++i) pos.push_back(i);
    const auto b = task.load(Split::Train, pos);
    sum += vit_features(ancestry.spec, ancestry.params, b.images).to(at::kDouble).sum(0);
  }
  return (sum / static_cast<double>(n)).to(at::kFloat);
}

EmbedReport update_task_embeddings(const std::string& path, const AncestryModel& ancestry,
                                   const std::vector<Task>& tasks) {
  auto stored = read_all(path);
  EmbedReport report;
  for (const auto& t : tasks) {
    auto it = stored.find(t.def().name);
    if (it != stored.end() && it->second.task_hash == t.def().hash() && it->second.ancestry_hash == ancestry.content_hash) {
      report.reused.push_back(t.def().name);
      continue;
    }
    stored[t.def().name] = {compute_task_embedding(ancestry, t), t.def().hash(), ancestry.content_hash};
    report.computed.push_back(t.def().name);
  }
  if (report.computed.empty()) return report;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  write_atomically(path, [&](const std::string& tmp) {
    H5File f(tmp, H5File::Mode::Truncate);
    f.set_attr("/", "kind", "tal-task-embeddings");
    f.set_attr("/", "format_version", int64_t{1});
    for (const auto& [name, s] : stored) {
      const std::string g = "/tasks/" + name;
      f.write(g + "/embedding", s.embedding);
      f.set_attr(g, "task_hash", s.task_hash);
      f.set_attr(g, "ancestry_hash", s.ancestry_hash);
    }
  });
  return report;
}

std::map<std::string, at::Tensor> load_task_embeddings(const std::string& path, const std::vector<Task>& tasks,
                                                       const std::string& ancestry_hash) {
  TAL_REQUIRE(std::filesystem::exists(path), path, ": no task embeddings (HINT: tal tasks embed --config ...)");
  const auto stored = read_all(path);
  std::map<std::string, at::Tensor> out;
  for (const auto& t : tasks) {
    auto it = stored.find(t.def().name);
    TAL_REQUIRE(it != stored.end(), path, ": no embedding for task '", t.def().name,
                "' (HINT: tal tasks embed --config ...)");
    TAL_REQUIRE(it->second.task_hash == t.def().hash(), path, ": embedding of task '", t.def().name,
                "' is stale: the task definition changed (HINT: tal tasks embed --config ...)");
    TAL_REQUIRE(ancestry_hash.empty() || it->second.ancestry_hash == ancestry_hash, path, ": embedding of task '",
                t.def().name, "' was computed with another ancestry model (HINT: tal tasks embed --config ...)");
    out[t.def().name] = it->second.embedding;
  }
  return out;
}

}  // namespace tal
