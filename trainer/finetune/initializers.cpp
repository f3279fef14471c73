#include "trainer/finetune/initializers.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "base/error.h"
#include "base/suggest.h"
#include "hypernet/family.h"
#include "hypernet/graph.h"
#include "trainer/files/task_embeddings_file.h"
#include "trainer/finetune/protocol.h"
#include "hypernet/weight_selection.h"

namespace tal {

namespace {

// The registry of initialisations: one line each. A hypernetwork's names the key of its checkpoint, the variant that
// checkpoint must be, whether it inherits from the ancestry, and whether it reads the task's embedding or a zero one.
struct InitDef {
  enum class Kind { Random, AncestrySelect, Hypernet };
  std::string name;
  Kind kind;
  std::string key;  // hypernetworks: the option naming the checkpoint
  std::string variant;
  bool inherits = false, zero_embedding = false;
  const std::string& checkpoint(const FinetuneOptions& f) const {
    static const std::map<std::string, std::string FinetuneOptions::*> paths = {
        {"finetune.tal", &FinetuneOptions::tal}, {"finetune.logah", &FinetuneOptions::logah},
        {"finetune.ghn3", &FinetuneOptions::ghn3}, {"finetune.tal_inherit", &FinetuneOptions::tal_inherit}};
    return f.*paths.at(key);
  }
};

const std::vector<InitDef>& init_defs() {
  using K = InitDef::Kind;
  static const std::vector<InitDef> defs = {
      {"tal", K::Hypernet, "finetune.tal", "tal"},
      {"logah", K::Hypernet, "finetune.logah", "logah"},
      {"ghn3", K::Hypernet, "finetune.ghn3", "ghn3"},
      {"random", K::Random, "", ""},
      {"ancestry-select", K::AncestrySelect, "", ""},
      {"tal-no-film", K::Hypernet, "finetune.tal", "tal", false, /*zero_embedding=*/true},
      {"tal-inherit", K::Hypernet, "finetune.tal_inherit", "tal", /*inherits=*/true},
  };
  return defs;
}

const InitDef& init_def(const std::string& init) {
  for (const auto& d : init_defs())
    if (d.name == init) return d;
  throw Error("key 'finetune.inits': unknown initialisation '" + init + "' (expected " +
              join_choices(finetune_init_names()) + ")" + did_you_mean(init, finetune_init_names()));
}

}  // namespace

const std::vector<std::string>& finetune_init_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& d : init_defs()) out.push_back(d.name);
    return out;
  }();
  return names;
}

InitName split_init_name(const std::string& init) {
  const auto mark = init.find('>');
  if (mark == std::string::npos) return {init, ""};
  return {init.substr(0, mark), init.substr(mark + 1)};
}

void check_init_name(const std::string& init) {
  const InitName n = split_init_name(init);
  TAL_REQUIRE(n.tuned_on.find('>') == std::string::npos && (n.tuned_on.empty() == (init.find('>') == std::string::npos)),
              "key 'finetune.inits': '", init.substr(0, 80), "': a tuned host is INIT>TASK, one task (e.g. tal>fmnist-bags)");
  init_def(n.base);
}

Initializers::Initializers(const CommandOptions& o, const std::vector<std::string>& inits,
                           const std::vector<Task>& tasks, at::Device device)
    : ancestry_path_(o.ancestry.checkpoint), tiled_embeddings_(o.finetune.tiled_embeddings), device_(device) {
  for (const auto& name : inits) {
    check_init_name(name);
    const std::string init = split_init_name(name).base;
    order_.push_back(name);
    if (info_.count(init)) continue;
    const InitDef& def = init_def(init);
    FinetuneInit info;
    info.name = init;
    if (def.kind == InitDef::Kind::Hypernet) {
      const std::string& key = def.key;
      TrainedHypernet net = load_trained_hypernet(def.checkpoint(o.finetune), /*use_ema=*/true, key);
      TAL_REQUIRE(net.run.hypernet.variant == def.variant, "key '", key, "': ", net.path, " is a checkpoint of a ",
                  net.run.hypernet.variant, " hypernetwork, not of ", def.variant, " (initialisation '", init, "')");
      TAL_REQUIRE(net.run.hypernet.inherits() == def.inherits, "key '", key, "': ", net.path, " is ",
                  net.run.hypernet.inherits() ? "an inheriting hypernetwork (hypernet.base=ancestry); name it as "
                                                "tal-inherit (finetune.tal_inherit)"
                                              : "not an inheriting hypernetwork (hypernet.base=none)",
                  " (initialisation '", init, "')");
      info.source = net.path;
      info.source_hash = net.content_hash;
      info.source_step = net.step;
      info.hypernet_params = net.net->num_parameters();
      if (net.run.hypernet.film()) {
        task_dims_[init] = net.run.hypernet.task_dim;
        if (!def.zero_embedding && embeddings_.empty()) {
          embeddings_ = load_task_embeddings(o.tasks.embeddings, tasks, "");
          for (auto& [name, e] : embeddings_) e = e.to(device_);
        }
      }
      net.net->to(device_);
      nets_.emplace(init, std::move(net));
    } else if (def.kind == InitDef::Kind::AncestrySelect) {
      info.source = o.ancestry.checkpoint;
      info.source_hash = ancestry().content_hash;
    }
    info_[init] = info;
  }
  for (const auto& name : order_) {  // a tuned host: its initialisation's source, and the task it was tuned on
    const InitName n = split_init_name(name);
    if (n.tuned_on.empty()) continue;
    FinetuneInit info = info_.at(n.base);
    info.name = name;
    info.source = (info.source.empty() ? n.base : info.source) + ", fine-tuned on " + n.tuned_on;
    info_[name] = info;
  }
}

const AncestryModel& Initializers::ancestry() {
  if (!ancestry_) {
    TAL_REQUIRE(std::filesystem::exists(ancestry_path_), "key 'ancestry.checkpoint': ", ancestry_path_,
                ": no such file (weight selection and finetune.tiled_embeddings=ancestry read the ancestry model)");
    ancestry_ = std::make_unique<AncestryModel>(load_ancestry(ancestry_path_));
  }
  return *ancestry_;
}

bool Initializers::has_head_choice(const std::string& init, const Task& task) const {
  return nets_.count(split_init_name(init).base) > 0 && task.def().heldout && !task.def().pack;  // a corpus has no classifier
}

const ZooOptions* Initializers::training_zoo() const {
  for (const auto& name : order_)
    if (const auto it = nets_.find(split_init_name(name).base); it != nets_.end()) return &it->second.run.zoo;
  return nullptr;
}

namespace {

// The tensors of `spec` a hypernetwork with blocks of `max_shape` predicts by tiling an embedding table.
bool tiled_embedding(const ArchSpec& spec, const ParamInfo& info, int64_t max_shape) {
  const Family& family = spec.family();
  return std::any_of(info.shape.begin(), info.shape.end(), [&](int64_t d) { return d > max_shape; }) &&
         family.scaling(spec, info.name).raw && !family.is_classifier(info.name) && is_predicted(spec, info.name);
}

}  // namespace

std::string Initializers::tiled_source(const std::string& init, const ArchSpec& spec) {
  const auto it = nets_.find(split_init_name(init).base);
  if (it == nets_.end() || tiled_embeddings_ != "ancestry") return "";
  for (const auto& info : param_table(spec))
    if (tiled_embedding(spec, info, it->second.run.hypernet.max_shape)) return ancestry().content_hash;
  return "";
}

ParamMap Initializers::make(const std::string& name, const Task& task, const ArchSpec& spec, uint64_t seed,
                            const std::string& head, double noise_beta) {
  const std::string init = split_init_name(name).base;
  TAL_ASSERT(head == "own" || has_head_choice(init, task), "head choice '", head, "' for ", init, " on ",
             task.def().name);
  ParamMap fresh = init_params(spec, seed);
  ParamMap out;
  std::set<std::string> predicted;
  const InitDef& def = init_def(init);
  if (def.kind == InitDef::Kind::Random) {
    out = std::move(fresh);
  } else if (def.kind == InitDef::Kind::AncestrySelect) {
    TAL_REQUIRE(ancestry().spec.family().name() == spec.family().name(), "ancestry-select: the ancestry model is a ",
                ancestry().spec.family().name(), ", not a ", spec.family().name());
    out = select_weights(ancestry().spec, ancestry().params, spec, fresh);
  } else {
    auto& net = nets_.at(init);
    TAL_REQUIRE(net.run.zoo.family == spec.family().name(), "key '", def.key, "': ", net.path,
                " was trained on the ", net.run.zoo.family, " family, not on ", spec.family().name());
    at::Tensor embedding;
    if (net.run.hypernet.film())
      embedding = def.zero_embedding ? at::zeros({task_dims_.at(init)}, at::TensorOptions().device(device_))
                                        : embeddings_.at(task.def().name);
    at::NoGradGuard no_grad;
    const Graph g = build_graph(spec);
    out = net.net->predict({&g}, embedding)[0];
    for (const auto& [name, t] : out) predicted.insert(name);
    for (auto& [name, t] : fresh)
      if (!out.count(name)) out[name] = t;
    const Family& family = spec.family();
    // Embedding tables the decoder tiled (a dimension beyond its block) repeat with a period of max_shape rows.
    if (tiled_embeddings_ != "predicted")
      for (const auto& info : param_table(spec)) {
        if (!predicted.count(info.name) || !tiled_embedding(spec, info, net.run.hypernet.max_shape)) continue;
        at::Tensor replacement;
        if (tiled_embeddings_ == "ancestry")
          replacement = select_tensor(ancestry().spec, ancestry().params, spec, info);
        out[info.name] = replacement.defined() ? replacement : fresh.at(info.name);
        predicted.erase(info.name);
      }
    if (head == "reset")
      for (auto& [name, t] : out)
        if (family.is_classifier(name)) {
          t = fresh.at(name);
          predicted.erase(name);
        }
    break_symmetry(param_table(spec), out, noise_beta, seed ^ 0x6e6f697365ULL, [&](const std::string& name) {
      return family.is_classifier(name) || !predicted.count(name);
    });
  }
  for (auto& [name, t] : out) t = t.detach().to(device_).clone().requires_grad_(true);
  if (device_.is_cuda() && !out.empty()) out.begin()->second.sum().item<float>();  // the work done, for the clock
  return out;
}

std::vector<FinetuneInit> Initializers::infos() const {
  std::vector<FinetuneInit> out;
  for (const auto& name : order_) out.push_back(info_.at(name));
  return out;
}

const FinetuneInit& Initializers::info(const std::string& init) const { return info_.at(init); }

}  // namespace tal
