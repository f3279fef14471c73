#include "trainer/train/task_embedding.h"

#include <algorithm>

#include "base/error.h"
#include "hypernet/family.h"
#include "trainer/files/task_embeddings_file.h"
#include "trainer/train/training_data.h"

namespace tal {
at::Tensor compute_task_embedding(const AncestryModel& ancestry, const Task& task, int64_t images, int64_t batch) {
  at::NoGradGuard guard;
  const std::string misfit = ancestry.spec.family().mismatch(ancestry.spec, [&] {
    DataShape d = data_shape(task);
    d.classes = 0;  // the features do not depend on the head
    return d;
  }());
  TAL_REQUIRE(misfit.empty(), "task '", task.def().name, "': its data (", misfit, ") does not fit the ancestry model ",
              ancestry.spec.str());
  const int64_t n = images > 0 ? std::min(images, task.size(Split::Train)) : task.size(Split::Train);
  at::Tensor sum;
  for (int64_t start = 0; start < n; start += batch) {
    std::vector<int64_t> pos;
    for (int64_t i = start; i < std::min(n, start + batch); ++i) pos.push_back(i);
    const auto b = task.load(Split::Train, pos);
    const auto f = target_features(ancestry.spec, ancestry.params, b.inputs).to(at::kDouble).sum(0);
    sum = sum.defined() ? sum + f : f;
  }
  return (sum / static_cast<double>(n)).to(at::kFloat);
}

EmbedReport update_task_embeddings(const std::string& path, const AncestryModel& ancestry,
                                   const std::vector<Task>& tasks, int64_t images) {
  auto stored = read_task_embeddings(path);
  EmbedReport report;
  for (const auto& t : tasks) {
    auto it = stored.find(t.def().name);
    if (it != stored.end() && it->second.task_hash == t.def().hash() && it->second.images == images &&
        it->second.ancestry_hash == ancestry.content_hash) {
      report.reused.push_back(t.def().name);
      continue;
    }
    stored[t.def().name] = {compute_task_embedding(ancestry, t, images), t.def().hash(), ancestry.content_hash, images};
    report.computed.push_back(t.def().name);
  }
  if (!report.computed.empty()) write_task_embeddings(path, stored);
  return report;
}

}  // namespace tal
