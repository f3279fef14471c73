#include "trainer/files/archive.h"

#include <filesystem>

#include "base/error.h"
#include "base/suggest.h"
#include "datasets/atomic_file.h"
#include "datasets/h5.h"
#include "datasets/h5_check.h"
#include "trainer/files/file_kind.h"

namespace tal {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kArchiveFormat = 1;

void require_archive(const H5File& f) {
  require_kind(f, "tal-archive", kArchiveFormat, "predicted-weight archive", "make one with tal predict");
}

// A file that crashes HDF5 crashes a child (datasets/h5_check.h): the rehearsal reads every model, once per file.
void rehearse_archive(const std::string& path) {
  rehearse_in_child(path, "archive", [&] {
    for (const auto& task : archive_tasks(path))
      for (const auto& arch : archive_models(path, task)) (void)read_archive_model(path, task, arch);
  });
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "\n") + s;
  return out;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size() && !s.empty()) {
    const auto end = s.find('\n', start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace

void append_to_archive(const std::string& path, const std::vector<ArchiveModel>& models) {
  const bool exists = fs::exists(path);
  if (exists) rehearse_archive(path);
  if (exists) require_archive(H5File(path, H5File::Mode::Read));
  write_atomically(path, [&](const std::string& tmp) {
    if (exists) fs::copy_file(path, tmp, fs::copy_options::overwrite_existing);
    H5File f(tmp, exists ? H5File::Mode::ReadWrite : H5File::Mode::Truncate);
    if (!exists) {
      stamp_kind(f, "tal-archive", kArchiveFormat);
    }
    for (const auto& m : models) {
      const std::string g = "/" + m.task + "/" + m.arch_id;
      f.remove(g);
      for (const auto& p : param_table(m.spec))
        if (m.params.count(p.name)) f.write(g + "/" + p.name, m.params.at(p.name));
      f.set_attr(g, "spec", m.spec.str());
      f.set_attr(g, "task", m.task);
      f.set_attr(g, "classes", join(m.classes));
      f.set_attr(g, "num_classes", static_cast<int64_t>(m.classes.size()));
      f.set_attr(g, "checkpoint_step", m.checkpoint_step);
      f.set_attr(g, "checkpoint_hash", m.checkpoint_hash);
      f.set_attr(g, "hypernet_variant", m.hypernet_variant);
      f.set_attr(g, "task_dataset", m.task_def.dataset);
      f.set_attr(g, "task_classes", join(m.task_def.classes));
      f.set_attr(g, "task_transform", m.task_def.transform);
      // Text tasks: the truncation length, and whether the task is a language-model corpus (absent in archives
      // written before them; a reader takes the store's length and a classification task then).
      if (m.task_def.max_length > 0) f.set_attr(g, "task_max_length", m.task_def.max_length);
      if (m.task_def.pack) f.set_attr(g, "task_pack", int64_t{1});
      if (m.task_def.metric != "accuracy") f.set_attr(g, "task_metric", m.task_def.metric);
    }
  });
}

std::vector<std::string> archive_tasks(const std::string& path) {
  rehearse_archive(path);
  H5File f(path, H5File::Mode::Read);
  require_archive(f);
  return f.children("/");
}

std::vector<std::string> archive_models(const std::string& path, const std::string& task) {
  rehearse_archive(path);
  H5File f(path, H5File::Mode::Read);
  require_archive(f);
  TAL_REQUIRE(f.exists("/" + task), path, ": no task '", task, "' in the archive");
  return f.children("/" + task);
}

ArchiveModel read_archive_model(const std::string& path, const std::string& task, const std::string& arch_id) {
  rehearse_archive(path);
  H5File f(path, H5File::Mode::Read);
  require_archive(f);
  const std::string g = "/" + task + "/" + arch_id;
  TAL_REQUIRE(f.exists("/" + task), path, ": no task '", task, "' in the archive");
  TAL_REQUIRE(f.exists(g), path, ": no model '", arch_id, "' for task '", task, "'");
  ArchiveModel m;
  m.task = task;
  m.arch_id = arch_id;
  try {
    m.spec = ArchSpec::parse(f.attr_str(g, "spec"));
  } catch (const Error& e) {
    throw Error(path + ": " + g + ": attribute 'spec': " + e.what());
  }
  m.classes = split_lines(f.attr_str(g, "classes"));
  m.checkpoint_step = f.attr_int(g, "checkpoint_step");
  m.checkpoint_hash = f.attr_str(g, "checkpoint_hash");
  m.hypernet_variant = f.attr_str(g, "hypernet_variant");
  m.task_def.name = task;
  m.task_def.dataset = f.attr_str(g, "task_dataset");
  m.task_def.classes = split_lines(f.attr_str(g, "task_classes"));
  m.task_def.transform = f.attr_str(g, "task_transform");
  if (f.has_attr(g, "task_max_length")) m.task_def.max_length = f.attr_int(g, "task_max_length");
  if (f.has_attr(g, "task_pack")) m.task_def.pack = f.attr_int(g, "task_pack") != 0;
  if (f.has_attr(g, "task_metric")) m.task_def.metric = f.attr_str(g, "task_metric");
  TAL_REQUIRE(m.task_def.max_length >= 0, path, ": ", g, ": attribute 'task_max_length' is negative");
  TAL_REQUIRE(is_one_of(m.task_def.metric, task_metric_names()), path, ": ", g, ": attribute 'task_metric': unknown '",
              m.task_def.metric, "' (expected ", join_choices(task_metric_names()), ")");
  for (const auto& p : param_table(m.spec)) {
    // Tensors no hypernetwork predicts (ViT class_token) are absent from predicted models, present in fine-tuned ones.
    if (!is_predicted(m.spec, p.name) && !f.is_dataset(g + "/" + p.name)) continue;
    TAL_REQUIRE(f.is_dataset(g + "/" + p.name), path, ": model '", arch_id, "' lacks ", p.name);
    f.require(g + "/" + p.name, {"float32"});
    TAL_REQUIRE(f.shape(g + "/" + p.name) == p.shape, path, ": ", g, "/", p.name, " has shape ",
                shape_str(f.shape(g + "/" + p.name)), ", expected ", shape_str(p.shape), " for ", m.spec.str());
    auto t = f.read(g + "/" + p.name);
    TAL_REQUIRE(t.isfinite().all().item<bool>(), path, ": ", g, "/", p.name, " holds non-finite values");
    m.params[p.name] = t;
  }
  return m;
}

}  // namespace tal
