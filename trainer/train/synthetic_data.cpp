#include "trainer/train/synthetic_data.h"

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "datasets/task_store.h"
#include "datasets/tasks.h"
#include "datasets/text_store.h"
#include "hypernet/family.h"
#include "trainer/files/task_embeddings_file.h"
#include "trainer/train/progress.h"

namespace tal {

std::string use_synthetic_data(TalOptions& o, const std::string& dir) {
  std::filesystem::create_directories(dir);
  const DataShape shape = o.zoo.data();
  const bool text = find_family(o.zoo.family).reads_text();
  const int64_t classes = std::max<int64_t>(2, shape.classes);
  TAL_REQUIRE(!text || shape.vocab > 0, "--synthetic: zoo.vocab is not set for zoo.family=", o.zoo.family);
  const int64_t n = std::max<int64_t>(64, o.train.meta_batch * o.train.batch), n_test = std::max<int64_t>(8, n / 8);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(o.run.seed));
  std::vector<std::string> names;
  for (int64_t c = 0; c < classes; ++c) names.push_back("class-" + std::to_string(c));
  auto labels = [&](int64_t k) { return at::randint(classes, {k}, gen, at::kLong); };
  const std::string store = (std::filesystem::path(dir) / "synthetic.h5").string();
  std::string what;
  if (text) {
    const int64_t length = shape.length;
    auto split = [&](int64_t k) {
      TextSplit s;
      s.tokens = at::randint(shape.vocab, {k, length}, gen, at::kInt);
      s.lengths = at::full({k}, length, at::kInt);
      s.labels = labels(k);
      return s;
    };
    TextStoreMeta meta{"synthetic", "random tokens (tal bench --synthetic)", names, "synthetic", shape.vocab};
    write_text_store(store, meta, split(n), split(n_test));
    what = strf("%lld random sequences of %lld tokens from a %lld-token vocabulary", static_cast<long long>(n),
                static_cast<long long>(length), static_cast<long long>(shape.vocab));
  } else {
    auto split = [&](int64_t k) {
      SplitData s;
      s.images = at::randint(256, {k, shape.channels, shape.height, shape.width}, gen, at::kByte);
      s.labels = labels(k);
      return s;
    };
    StoreMeta meta{"synthetic", "random images (tal bench --synthetic)", names,
                   std::vector<double>(static_cast<size_t>(shape.channels), 0.5),
                   std::vector<double>(static_cast<size_t>(shape.channels), 0.29)};
    write_task_store(store, meta, split(n), split(n_test));
    what = strf("%lld random %lldx%lldx%lld images", static_cast<long long>(n), static_cast<long long>(shape.channels),
                static_cast<long long>(shape.height), static_cast<long long>(shape.width));
  }
  const std::string suite = (std::filesystem::path(dir) / "synthetic_suite.yaml").string();
  {
    std::ofstream out(suite);
    out << "tasks:\n  - name: synthetic\n    dataset: " << store << "\n";
    TAL_REQUIRE(out.good(), suite, ": cannot write the synthetic task suite");
  }
  o.data.root = dir;
  o.tasks.suite = suite;
  o.tasks.train.clear();
  o.tasks.heldout.clear();
  o.train.stage = "multitask";
  o.train.classes.clear();
  if (o.hypernet.film()) {
    // The embedding is keyed by the task as resolved against its store (a text task takes the store's length).
    const TaskDef def = resolve_tasks(load_task_suite(suite), dir, o.data.memory_limit).at(0).def();
    o.tasks.embeddings = (std::filesystem::path(dir) / "synthetic_embeddings.h5").string();
    write_task_embeddings(o.tasks.embeddings,
                          {{def.name, {at::randn({o.hypernet.task_dim}, gen), def.hash(), "", 0}}});
    what += ", a random " + std::to_string(o.hypernet.task_dim) + "-d task embedding";
  }
  return "synthetic  " + what + ", " + std::to_string(classes) + " classes; stage 2 on that one task";
}

}  // namespace tal
