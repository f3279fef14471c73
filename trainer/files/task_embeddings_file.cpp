#include "trainer/files/task_embeddings_file.h"

#include <filesystem>

#include "base/error.h"
#include "datasets/atomic_file.h"
#include "datasets/h5.h"
#include "datasets/h5_check.h"
#include "trainer/files/file_kind.h"

namespace tal {
namespace {
constexpr int64_t kEmbeddingsFormat = 1;
}

std::map<std::string, StoredEmbedding> read_task_embeddings(const std::string& path) {
  std::map<std::string, StoredEmbedding> out;
  if (!std::filesystem::exists(path)) return out;
  rehearse_in_child(path, "embeddings", [&] { (void)read_task_embeddings(path); });  // crashes HDF5 in a child
  H5File f(path, H5File::Mode::Read);
  require_kind(f, "tal-task-embeddings", kEmbeddingsFormat, "task-embedding file", "tal tasks embed --config ...");
  if (!f.exists("/tasks")) return out;
  for (const auto& name : f.children("/tasks")) {
    const std::string g = "/tasks/" + name;
    f.require(g + "/embedding", {"float32"}, 1);
    const auto e = f.read(g + "/embedding");
    TAL_REQUIRE(e.numel() > 0 && e.isfinite().all().item<bool>(), path, ": '", g, "/embedding' is empty or not finite");
    out[name] = {e, f.attr_str(g, "task_hash"), f.attr_str(g, "ancestry_hash"),
                 f.has_attr(g, "images") ? f.attr_int(g, "images") : 0};
  }
  return out;
}

void write_task_embeddings(const std::string& path, const std::map<std::string, StoredEmbedding>& embeddings) {
  write_atomically(path, [&](const std::string& tmp) {
    H5File f(tmp, H5File::Mode::Truncate);
    stamp_kind(f, "tal-task-embeddings", kEmbeddingsFormat);
    for (const auto& [name, s] : embeddings) {
      const std::string g = "/tasks/" + name;
      f.write(g + "/embedding", s.embedding);
      f.set_attr(g, "task_hash", s.task_hash);
      f.set_attr(g, "ancestry_hash", s.ancestry_hash);
      f.set_attr(g, "images", s.images);
    }
  });
}

std::map<std::string, at::Tensor> load_task_embeddings(const std::string& path, const std::vector<Task>& tasks,
                                                       const std::string& ancestry_hash) {
  TAL_REQUIRE(std::filesystem::exists(path), path, ": no task embeddings (HINT: tal tasks embed --config ...)");
  const auto stored = read_task_embeddings(path);
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
