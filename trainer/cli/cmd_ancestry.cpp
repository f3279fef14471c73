// tal ancestry train: the ancestry (teacher) model. tal tasks embed: task embeddings from its features.
#include <ATen/Parallel.h>

#include <cstdio>
#include <filesystem>

#include "base/error.h"
#include "datasets/atomic_file.h"
#include "datasets/tasks.h"
#include "hypernet/family.h"
#include "trainer/cli/commands.h"
#include "trainer/cli/dispatch.h"
#include "trainer/config/command_line.h"
#include "trainer/config/commands.h"
#include "trainer/files/ancestry_file.h"
#include "trainer/files/task_embeddings_file.h"
#include "trainer/train/ancestry_trainer.h"
#include "trainer/train/task_embedding.h"

namespace tal {
namespace {

int ancestry_train(const Args& args) {
  const auto parsed = command_options(command_table("ancestry train"), args,
                                      "tal ancestry train --config configs/ancestry_vit.yaml [key=value ...]\n"
                                      "exit codes: 0 done, 1 error, 75 preempted (checkpoint written; run again to continue)");
  if (!parsed) return 0;
  const auto& o = *parsed;
  if (o.threads > 0) at::set_num_threads(static_cast<int>(o.threads));
  return train_ancestry(o, run_config_table().dump(o));
}

// tal ancestry import MODEL.safetensors --arch SPEC --out ancestry.h5 [--classes a,b,...] [--dataset STORE]
int ancestry_import(const Args& args_in) {
  const std::string usage =
      "tal ancestry import MODEL.safetensors --arch SPEC --out ANCESTRY.h5 [--classes NAME,...] [--dataset STORE]\n"
      "  MODEL.safetensors: a torchvision ViT or HF GPT-2 state dict in the layout tal export writes";
  Args args = args_in;
  std::string source;
  if (!args.empty() && !args.front().empty() && args.front()[0] != '-' && args.front().find('=') == std::string::npos) {
    source = args.front();
    args.erase(args.begin());
  }
  const auto parsed = command_options(command_table("ancestry import"), args, usage);
  if (!parsed) return 0;
  const auto& o = *parsed;
  const auto& a = o.ancestry;
  TAL_REQUIRE(!source.empty(), "command line: give the safetensors file first (usage: ", usage.substr(0, usage.find('\n')),
              ")");
  TAL_REQUIRE(std::filesystem::is_regular_file(source), source, ": no such file");
  require_distinct_output("--out", a.checkpoint, {{"the model file", source}});
  ArchSpec spec;
  try {
    spec = ArchSpec::parse(a.arch);
  } catch (const Error& e) {
    throw Error(std::string("key 'ancestry.arch': ") + e.what());
  }
  AncestryModel model = import_ancestry(source, spec, a.classes);
  save_ancestry(a.checkpoint, model, a.dataset);
  std::printf("import: %s (%s parameters of %s) -> %s, content hash %s%s\n", source.c_str(),
              std::to_string(count_params(spec, true)).c_str(), spec.str().c_str(), a.checkpoint.c_str(),
              model.content_hash.c_str(),
              model.classes.empty() ? "" : (", " + std::to_string(model.classes.size()) + " named classes").c_str());
  return 0;
}

int tasks_embed(const Args& args) {
  const auto parsed = command_options(command_table("tasks embed"), args, "tal tasks embed --config FILE [key=value ...]");
  if (!parsed) return 0;
  const auto& o = *parsed;
  if (o.threads > 0) at::set_num_threads(static_cast<int>(o.threads));
  require_distinct_output("tasks.embeddings", o.tasks.embeddings,
                          {{"the ancestry.checkpoint", o.ancestry.checkpoint}, {"the tasks.suite", o.tasks.suite}});
  const auto ancestry = load_ancestry(o.ancestry.checkpoint);
  const auto tasks = resolve_tasks(load_task_suite(o.tasks.suite), o.data.root, o.data.memory_limit);
  for (const auto& t : tasks) require_distinct_output("tasks.embeddings", o.tasks.embeddings, {{"a task store", t.store_path()}});
  const auto report = update_task_embeddings(o.tasks.embeddings, ancestry, tasks, o.tasks.embed_images);
  for (const auto& name : report.computed) std::printf("embed: %-24s computed\n", name.c_str());
  for (const auto& name : report.reused) std::printf("embed: %-24s up to date\n", name.c_str());
  const auto stored = read_task_embeddings(o.tasks.embeddings);
  const int64_t dim = stored.empty() ? 0 : stored.begin()->second.embedding.numel();
  std::printf("embed: %zu task(s), %lld-d embeddings from %s over %s training images each, in %s\n", tasks.size(),
              static_cast<long long>(dim), o.ancestry.checkpoint.c_str(),
              o.tasks.embed_images > 0 ? std::to_string(o.tasks.embed_images).c_str() : "all",
              o.tasks.embeddings.c_str());
  return 0;
}

}  // namespace

int run_ancestry(const Args& args) {
  return dispatch("ancestry", args,
                  {{"train", "tal ancestry train --config configs/ancestry_vit.yaml   the ancestry (teacher) model",
                    ancestry_train},
                   {"import", "tal ancestry import MODEL.safetensors --arch SPEC --out A.h5   bring your own ancestry",
                    ancestry_import}});
}

int run_tasks(const Args& args) {
  return dispatch("tasks", args,
                  {{"embed", "tal tasks embed --config FILE   task embeddings from the ancestry model", tasks_embed}});
}

}  // namespace tal
