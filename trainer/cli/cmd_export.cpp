// tal export ARCHIVE --format safetensors --out DIR [--task T]: every archived model as
// DIR/<task>/<arch-id>/model.safetensors, plus config.json where the family's library builds models from one (HF).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "base/error.h"
#include "datasets/atomic_file.h"
#include "hypernet/family.h"
#include "trainer/cli/commands.h"
#include "trainer/files/archive.h"
#include "trainer/files/safetensors.h"

namespace tal {
namespace fs = std::filesystem;

namespace {
constexpr const char* kUsage = "usage: tal export ARCHIVE --format safetensors --out DIR [--task TASK]";

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "\n") + s;
  return out;
}
}  // namespace

int run_export(const Args& args) {
  std::string archive, format, out, only_task;
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "--help" || a == "-h") {
      std::printf("%s\nwrites DIR/<task>/<arch-id>/model.safetensors for each archived model (+ config.json for "
                  "GPT-2, HF's GPT2Config)\n",
                  kUsage);
      return 0;
    }
    if (a == "--format" || a == "--out" || a == "--task") {
      TAL_REQUIRE(i + 1 < args.size(), "command line: ", a, " needs a value (", kUsage, ")");
      (a == "--format" ? format : a == "--out" ? out : only_task) = args[++i];
    } else {
      TAL_REQUIRE(archive.empty() && a.rfind("--", 0) != 0, "command line: unexpected argument '", a, "' (", kUsage,
                  ")");
      archive = a;
    }
  }
  TAL_REQUIRE(!archive.empty() && !out.empty(), "command line: ", kUsage);
  TAL_REQUIRE(format == "safetensors", "command line: --format '", format, "' (expected safetensors)");
  TAL_REQUIRE(!fs::exists(out) || fs::is_directory(out), "--out ", out, " is a file, not a directory");
  // Every model is read and checked before anything is written.
  std::vector<ArchiveModel> models;
  for (const auto& task : archive_tasks(archive)) {
    if (!only_task.empty() && task != only_task) continue;
    for (const auto& id : archive_models(archive, task)) models.push_back(read_archive_model(archive, task, id));
  }
  TAL_REQUIRE(!models.empty(), archive, ": no models", only_task.empty() ? "" : " for --task " + only_task);
  for (const auto& m : models) {
    const fs::path dir = fs::path(out) / m.task / m.arch_id;
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (const auto& p : param_table(m.spec))
      if (m.params.count(p.name)) tensors.emplace_back(p.name, m.params.at(p.name));
    const std::map<std::string, std::string> metadata = {
        {"format", "pt"},  // what safetensors' PyTorch loader expects
        {"tal.spec", m.spec.str()},
        {"tal.task", m.task},
        {"tal.classes", joined(m.classes)},
        {"tal.hypernet", m.hypernet_variant},
        {"tal.checkpoint_step", std::to_string(m.checkpoint_step)},
        {"tal.checkpoint_hash", m.checkpoint_hash},
        {"tal.layout", m.spec.family().reference_layout()}};
    write_safetensors((dir / "model.safetensors").string(), tensors, metadata);
    const auto config = m.spec.family().library_config(m.spec);
    if (!config.empty())
      write_atomically((dir / "config.json").string(), [&](const std::string& tmp) {
        std::ofstream f(tmp, std::ios::binary);
        f << config;
        TAL_REQUIRE(f, tmp, ": write failed");
      });
    std::printf("export: %s/%s -> %s (%zu tensors%s)\n", m.task.c_str(), m.arch_id.c_str(),
                (dir / "model.safetensors").c_str(), tensors.size(), config.empty() ? "" : ", config.json");
  }
  return 0;
}

}  // namespace tal
