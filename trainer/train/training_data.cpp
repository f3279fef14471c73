#include "trainer/train/training_data.h"

#include <algorithm>
#include <filesystem>

#include "base/error.h"
#include "hypernet/family.h"
#include "trainer/files/task_embeddings_file.h"

namespace tal {
namespace {

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

bool TrainingData::is_heldout(int64_t task) const {
  return std::find(heldout_tasks.begin(), heldout_tasks.end(), task) != heldout_tasks.end();
}

DataShape data_shape(const Task& task) {
  DataShape d;
  if (task.is_text()) {
    d.vocab = task.vocab_size();
    d.length = task.sequence_length();
    d.classes = task.def().pack ? 0 : task.num_classes();  // a packed corpus is read by the language-model head
    return d;
  }
  const auto shape = task.image_shape();
  d.channels = shape[0];
  d.height = shape[1];
  d.width = shape[2];
  d.classes = task.num_classes();
  return d;
}

TrainingData load_training_data(const TalOptions& o, bool stage1, bool stage2) {
  TrainingData data;
  std::vector<TaskDef> defs;
  if (stage1) {
    TaskDef d;
    d.name = std::filesystem::path(o.train.dataset).stem().string();
    d.dataset = o.train.dataset;
    d.classes = o.train.classes;
    if (find_family(o.zoo.family).reads_text()) {
      d.pack = true;  // the language-model corpus, in sequences of the zoo's context
      d.max_length = o.zoo.context;
    } else {
      d.transform = o.train.transform;
      d.flip = o.ancestry.flip;
      d.crop_padding = o.ancestry.crop_padding;
    }
    defs.push_back(d);
    data.pretrain_tasks.push_back(0);
  }
  if (stage2 || o.hypernet.film()) {
    const auto suite = load_task_suite(o.tasks.suite);
    auto wanted = [&](const std::vector<std::string>& list, const TaskDef& d, bool default_pick) {
      if (list.empty()) return default_pick;
      return std::find(list.begin(), list.end(), d.name) != list.end();
    };
    for (const auto& names : {o.tasks.train, o.tasks.heldout})
      for (const auto& n : names)
        TAL_REQUIRE(std::any_of(suite.begin(), suite.end(), [&](const TaskDef& d) { return d.name == n; }),
                    "key 'tasks.train'/'tasks.heldout': no task '", n, "' in ", o.tasks.suite);
    for (const auto& d : suite)
      if (wanted(o.tasks.train, d, !d.heldout)) {
        data.multitask_tasks.push_back(static_cast<int64_t>(defs.size()));
        defs.push_back(d);
      }
    for (const auto& d : suite)
      if (wanted(o.tasks.heldout, d, d.heldout) && !wanted(o.tasks.train, d, !d.heldout)) {
        data.heldout_tasks.push_back(static_cast<int64_t>(defs.size()));
        defs.push_back(d);
      }
    TAL_REQUIRE(!data.multitask_tasks.empty() || !stage2, o.tasks.suite, ": no tasks to train on (all held out?)");
  }
  data.tasks = resolve_tasks(defs, o.data.root, o.data.memory_limit);
  // The zoo's data keys describe the data the run's architectures are sampled for: they must agree with every
  // task's (the class count is each task's own).
  const DataShape zoo = o.zoo.data();
  const bool text = find_family(o.zoo.family).reads_text();
  for (const auto& task : data.tasks) {
    TAL_REQUIRE(task.is_text() == text, "task '", task.def().name, "' (", task.store_path(), ") holds ",
                task.is_text() ? "text" : "images", " but zoo.family=", o.zoo.family, " reads ", text ? "token sequences" : "images");
    const DataShape d = data_shape(task);
    if (text) {
      TAL_REQUIRE(d.vocab == zoo.vocab && d.length <= zoo.length, "task '", task.def().name, "' has a ", d.vocab,
                  "-token vocabulary and sequences of ", d.length, " but zoo.vocab/zoo.context are ", zoo.vocab, "/",
                  zoo.length);
      continue;
    }
    TAL_REQUIRE(d.channels == zoo.channels && d.height == zoo.height && d.width == zoo.width, "task '",
                task.def().name, "' has ", d.channels, "x", d.height, "x", d.width,
                " images but zoo.channels/zoo.image are ", o.zoo.channels, "/", o.zoo.image);
  }
  if (stage1 && !o.train.classes.empty()) {
    // Stage 2 must not show the hypernetwork what stage 1 left out: a multi-task task on the stage-1 store keeps to
    // its classes (held-out tasks may use the others; that is what they are for).
    const Task& pre = data.tasks[0];
    const auto& seen = pre.class_names();
    for (const int64_t t : data.multitask_tasks) {
      const Task& task = data.tasks[static_cast<size_t>(t)];
      if (task.store_path() != pre.store_path()) continue;
      for (const auto& c : task.class_names())
        TAL_REQUIRE(std::find(seen.begin(), seen.end(), c) != seen.end(), "key 'train.classes': stage-2 task '",
                    task.def().name, "' uses class '", c, "' of ", pre.store_path(),
                    ", which stage 1 leaves out; add it to train.classes or hold the task out");
    }
  }
  if (stage1 && o.train.kd_weight > 0) {
    data.teacher = std::make_unique<AncestryModel>(load_ancestry(o.ancestry.checkpoint));
    const std::string misfit = data.teacher->spec.family().mismatch(data.teacher->spec, data_shape(data.tasks[0]));
    TAL_REQUIRE(misfit.empty(), o.ancestry.checkpoint, ": the ancestry model ", data.teacher->spec.str(),
                " does not fit ", o.train.dataset, " (", misfit, ")");
    // Distillation compares logits class by class: the teacher's classes must be stage 1's, in the same order.
    const auto& mine = data.tasks[0].class_names();
    TAL_REQUIRE(data.tasks[0].def().pack || data.teacher->classes.empty() || data.teacher->classes == mine,
                o.ancestry.checkpoint, ": the ancestry was trained on classes [", join_names(data.teacher->classes),
                "] but stage 1 (train.classes) reads [", join_names(mine), "]; distillation needs the same classes");
  }
  if (o.hypernet.film() && !data.multitask_tasks.empty()) {
    std::vector<Task> film_tasks(data.tasks.begin() + static_cast<int64_t>(data.pretrain_tasks.size()), data.tasks.end());
    data.embeddings = load_task_embeddings(o.tasks.embeddings, film_tasks, "");
    for (const auto& [name, e] : data.embeddings)
      TAL_REQUIRE(e.numel() == o.hypernet.task_dim, o.tasks.embeddings, ": task '", name, "' has a ", e.numel(),
                  "-d embedding but hypernet.task_dim is ", o.hypernet.task_dim);
  }
  return data;
}

ArchSpec spec_for_task(const std::string& text, const Task& task) {
  const DataShape data = data_shape(task);
  const std::string family = text.substr(0, text.find(':'));
  const ArchSpec spec = ArchSpec::parse(text, find_family(family).defaults_for(data));
  const std::string misfit = spec.family().mismatch(spec, data);
  TAL_REQUIRE(misfit.empty(), "spec '", text, "' does not fit task '", task.def().name, "' (", misfit, ")");
  return spec;
}

}  // namespace tal
