#include "trainer/finetune/finetune.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <map>
#include <set>
#include <numeric>
#include <optional>

#include "base/error.h"
#include "base/hash.h"
#include "base/suggest.h"
#include "datasets/atomic_file.h"
#include "hypernet/family.h"
#include "hypernet/zoo.h"
#include "trainer/files/archive.h"
#include "trainer/files/safetensors.h"
#include "trainer/files/ancestry_file.h"
#include "trainer/files/finetune_results.h"
#include "trainer/finetune/finetune_run.h"
#include "trainer/finetune/grid_summary.h"
#include "trainer/finetune/protocol.h"
#include "trainer/finetune/reconcile.h"
#include "trainer/finetune/run_record.h"
#include "trainer/finetune/source_modules.h"
#include "trainer/finetune/initializers.h"
#include "trainer/finetune/methods/method.h"
#include "trainer/finetune/methods/porting.h"
#include "trainer/train/format.h"
#include "trainer/train/evaluator.h"
#include "trainer/train/metrics.h"
#include "trainer/train/preemption.h"
#include "trainer/train/progress.h"
#include "trainer/train/run_device.h"
#include "trainer/train/run_loop.h"
#include "trainer/train/training_data.h"

namespace tal {
namespace {

using Clock = std::chrono::steady_clock;

struct Cell {
  FinetuneCell meta;  // what defines it (curves empty)
  size_t task = 0;
  ArchSpec spec;
  double cost = 0;
  // When it runs: 0 with the plain cells; a multi-task method's cells after them (1), an incremental one's (CWPS)
  // one suite position after another (1 + the task's position), each phase reading the modules the earlier ones left.
  size_t phase = 0;
};

// Specs may be given on the command line as one comma-separated list: "vit:depth=2,width=64,vit:depth=4" is two.
std::vector<std::string> regroup_specs(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    if (item.find(':') == std::string::npos && !out.empty())
      out.back() += "," + item;
    else
      out.push_back(item);
  }
  return out;
}

// What every run of a grid shares (learning rates and head choices are axes, so they are in each cell's key).
std::string recipe_text(const FinetuneOptions& r) {
  return strf("steps=%lld batch=%lld weight_decay=%g warmup=%lld label_smoothing=%g clip=%g eval_every=%lld "
              "eval_images=%lld val_fraction=%g noise_beta=%g tiled_embeddings=%s",
              static_cast<long long>(r.steps), static_cast<long long>(r.batch), r.weight_decay,
              static_cast<long long>(r.warmup), r.label_smoothing, r.clip, static_cast<long long>(r.eval_every),
              static_cast<long long>(r.eval_images), r.val_fraction, r.noise_beta, r.tiled_embeddings.c_str());
}

// seen | held-out | class-disjoint. A held-out task is class-disjoint when it reads the store the ancestry was trained
// on and none of its classes is one the ancestry saw (the ancestry file records them; stage 1 and stage 2 of the
// hypernetworks are held to the same classes by train.classes).
std::vector<std::string> task_kinds_of(const std::vector<Task>& tasks, const std::string& ancestry_path) {
  AncestryModel ancestry;
  if (std::filesystem::exists(ancestry_path)) ancestry = load_ancestry(ancestry_path);
  std::vector<std::string> out;
  for (const auto& task : tasks) {
    if (!task.def().heldout) {
      out.push_back("seen");
      continue;
    }
    bool disjoint = !ancestry.classes.empty() && !task.def().pack &&
                    std::filesystem::path(ancestry.dataset).filename() ==
                        std::filesystem::path(task.store_path()).filename();
    for (const auto& c : task.class_names())
      disjoint = disjoint && std::find(ancestry.classes.begin(), ancestry.classes.end(), c) == ancestry.classes.end();
    out.push_back(disjoint ? "class-disjoint" : "held-out");
  }
  return out;
}

// Each initialisation's mean time to make one descendant's weights, over every run in the file (all ranks, all
// sessions).
void average_init_times(FinetuneResults& r) {
  for (auto& i : r.inits) {
    double sum = 0;
    int n = 0;
    for (const auto& c : r.cells)
      if (c.init == i.name) sum += c.init_ms, ++n;
    i.predict_ms = n > 0 ? sum / n : 0;
  }
}

// Where --save-weights ARCHIVE puts each run's stored tensors (modules, head) as safetensors: ARCHIVE without its
// extension, plus ".modules" (tuned.h5 -> tuned.modules/<task>/<model>.safetensors).
std::string modules_dir(const std::string& archive) {
  std::filesystem::path p(archive);
  return (p.parent_path() / (p.stem().string() + ".modules")).string();
}

// Every rank's flat float tensor, padded to the longest, then cut back to each rank's own length.
std::vector<at::Tensor> gather_variable(Communicator& comm, const at::Tensor& mine) {
  const auto sizes = comm.allgather(at::full({1}, mine.numel(), at::kLong), "finetune weight sizes");
  int64_t longest = 0;
  for (int r = 0; r < comm.world(); ++r) longest = std::max(longest, sizes[r][0].item<int64_t>());
  auto padded = at::zeros({longest}, at::kFloat);
  if (mine.numel() > 0) padded.narrow(0, 0, mine.numel()).copy_(mine);
  const auto all = comm.allgather(padded, "finetune weights");
  std::vector<at::Tensor> out;
  for (int r = 0; r < comm.world(); ++r) out.push_back(all[r].narrow(0, 0, sizes[r][0].item<int64_t>()));
  return out;
}


// The grid: its tasks, each task's descendant specs, the protocol's validation slice and kind per task, and the cells.
struct Grid {
  std::vector<std::string> archs;
  std::vector<Task> tasks;
  std::vector<std::vector<ArchSpec>> specs;  // [task][arch], fitted to the task
  std::vector<TrainValSplit> splits;         // per task: the validation slice held back, the rest to train on
  std::vector<std::string> kinds;            // per task: seen | held-out | class-disjoint
  std::vector<size_t> order;                 // the suite order: the seen tasks, then the held-out ones
  std::vector<size_t> position;              // per task: its place in the suite order
  std::vector<double> rates;
  std::vector<std::string> heads;  // finetune.heads: the head choices on held-out tasks, in order
  std::vector<int64_t> evals;
  std::string recipe;
  std::vector<std::string> methods;  // canonical (methods/method.h), in the grid's order
  struct Counts {
    int64_t trainable = 0, stored = 0, shared_embeddings = 0, stored_shared = 0, suite_stored = 0;
    bool mergeable = true;
  };
  std::map<std::pair<std::string, std::string>, Counts> counts;  // (spec, method) -> its parameter counts
  std::map<std::string, std::string> source_of;  // a multi-task method -> the method whose runs are its sources
  std::set<std::string> sources;                 // the methods whose runs some method of the grid reads
  std::set<std::string> incremental;             // the methods that read their own runs on the earlier tasks (CWPS)
  std::set<std::string> kept;  // the methods whose runs keep their stored tensors in RUN/modules/ (sources among them)
  std::vector<Cell> cells;
};

// The tasks (the suite's, or those named; held-out ones included, reported apart) and each one's descendants.
Grid grid_tasks(const CommandOptions& o) {
  const auto& f = o.finetune;
  Grid g;
  g.archs = regroup_specs(f.archs);
  TAL_REQUIRE(!g.archs.empty(), "key 'finetune.archs': give at least one descendant architecture spec");
  const auto suite = load_task_suite(o.tasks.suite);
  std::vector<TaskDef> defs;
  if (f.tasks.empty()) {
    defs = suite;
  } else {
    std::vector<std::string> names;
    for (const auto& d : suite) names.push_back(d.name);
    for (const auto& want : f.tasks) {
      const auto it = std::find_if(suite.begin(), suite.end(), [&](const TaskDef& d) { return d.name == want; });
      TAL_REQUIRE(it != suite.end(), "key 'finetune.tasks': ", o.tasks.suite, " has no task '", want, "'",
                  did_you_mean(want, names));
      defs.push_back(*it);
    }
  }
  g.tasks = resolve_tasks(defs, o.data.root, o.data.memory_limit);
  for (const bool heldout : {false, true})
    for (size_t t = 0; t < g.tasks.size(); ++t)
      if (g.tasks[t].def().heldout == heldout) g.order.push_back(t);
  g.position.resize(g.tasks.size());
  for (size_t i = 0; i < g.order.size(); ++i) g.position[g.order[i]] = i;
  g.specs.resize(g.tasks.size());
  for (size_t t = 0; t < g.tasks.size(); ++t)
    for (const auto& a : g.archs) {
      try {
        g.specs[t].push_back(spec_for_task(a, g.tasks[t]));
      } catch (const Error& e) {
        throw Error(std::string("key 'finetune.archs': ") + e.what());
      }
      TAL_REQUIRE(g.tasks[t].size(Split::Train) >= f.batch, "key 'finetune.batch': ", f.batch,
                  " is larger than task '", g.tasks[t].def().name, "''s ", g.tasks[t].size(Split::Train),
                  " training images");
    }
  return g;
}

// Every initialisation can make every architecture of the grid: checked on every rank, the same way, before
// anything is run or written (an architecture a hypernetwork cannot predict would otherwise end the job mid-grid,
// at the same cell on every resume).
size_t task_index(const Grid& g, const std::string& name) {
  size_t t = 0;
  while (t < g.tasks.size() && g.tasks[t].def().name != name) ++t;
  return t;
}

// Where two descendants of one architecture (fitted to two tasks) differ outside their classifiers: "" when nowhere,
// else the first tensor that differs, with both shapes.
std::string body_mismatch(const ArchSpec& a, const ArchSpec& b) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : param_table(b)) shapes[p.name] = p.shape;
  for (const auto& p : param_table(a)) {
    if (a.family().is_classifier(p.name)) continue;
    const auto it = shapes.find(p.name);
    if (it == shapes.end()) return p.name + " " + shape_str(p.shape) + " against no such tensor";
    if (it->second != p.shape) return p.name + " " + shape_str(p.shape) + " against " + shape_str(it->second);
  }
  return "";
}

// A tuned host (INIT>TASK) is fine-tuned on a task of the grid whose descendants have the same body as every other
// task's: only the classifier may differ.
void check_tuned_hosts(const Grid& g, const FinetuneOptions& f) {
  std::vector<std::string> names;
  for (const auto& t : g.tasks) names.push_back(t.def().name);
  for (const auto& init : f.inits) {
    const InitName n = split_init_name(init);
    if (n.tuned_on.empty()) continue;
    const size_t from = task_index(g, n.tuned_on);
    TAL_REQUIRE(from < g.tasks.size(), "key 'finetune.inits': '", init.substr(0, 80), "': task '",
                n.tuned_on.substr(0, 40), "' is not one of the grid's tasks (", join_choices(names), ")",
                did_you_mean(n.tuned_on, names));
    for (size_t t = 0; t < g.tasks.size(); ++t)
      for (size_t a = 0; a < g.archs.size(); ++a) {
        const std::string differs = body_mismatch(g.specs[t][a], g.specs[from][a]);
        TAL_REQUIRE(differs.empty(), "key 'finetune.inits': '", init.substr(0, 80), "': ", g.archs[a], " on task '",
                    names[t], "' against '", n.tuned_on, "': ", differs, ": a host tuned on one task cannot be another's");
      }
  }
}

void check_initialisations(const Grid& g, const FinetuneOptions& f, Initializers& inits) {
  check_tuned_hosts(g, f);
  for (size_t t = 0; t < g.tasks.size(); ++t)
    for (size_t a = 0; a < g.archs.size(); ++a)
      for (const auto& init : f.inits) {
        try {
          inits.make(init, g.tasks[t], g.specs[t][a], 0);
        } catch (const Error& e) {
          throw Error("key 'finetune.archs': initialisation '" + init + "' cannot make " + g.archs[a] +
                      " for task '" + g.tasks[t].def().name + "': " + e.what());
        }
      }
}

// Every method fits every architecture of the grid (a budget above the width is refused here, before anything is
// run or written), and each one's parameter counts on it.
void check_methods(Grid& g, const FinetuneOptions& f) {
  for (const auto& text : regroup_methods(f.methods)) {
    const std::string m = parse_method(text).str();
    TAL_REQUIRE(std::find(g.methods.begin(), g.methods.end(), m) == g.methods.end(), "key 'finetune.methods': ", m,
                " is named twice");
    g.methods.push_back(m);
  }
  TAL_REQUIRE(!g.methods.empty(), "key 'finetune.methods': give at least one method (",
              join_choices(method_names()), ")");
  for (const auto& m : g.methods) {  // multi-task methods: their sources are runs of another method of the grid
    const MethodSpec spec = parse_method(m);
    if (method_named(spec.name).keeps_modules()) g.kept.insert(m);
    const std::string source = method_named(spec.name).source_method(spec);
    if (source.empty()) continue;
    TAL_REQUIRE(is_one_of(source, g.methods), "key 'finetune.methods': '", m, "' reads the modules that ", source,
                " runs train on the same host: add ", source, " to finetune.methods");
    const bool incremental = method_named(spec.name).incremental();
    TAL_REQUIRE(g.tasks.size() >= 2, "key 'finetune.tasks': '", m, "' reads ",
                incremental ? "its own runs on the tasks before each in the suite order" : "every task's " + source + " run",
                ", so it needs at least two tasks; the grid has ", g.tasks.size());
    for (size_t a = 0; a < g.archs.size(); ++a)
      for (size_t t = 1; t < g.tasks.size(); ++t) {
        const std::string differs = body_mismatch(g.specs[t][a], g.specs[0][a]);
        TAL_REQUIRE(differs.empty(), "key 'finetune.methods': '", m, "' shares one host between tasks, but ",
                    g.archs[a], " on task '", g.tasks[t].def().name, "' differs from '", g.tasks[0].def().name,
                    "''s: ", differs);
      }
    g.source_of[m] = source;
    if (method_named(spec.name).incremental()) g.incremental.insert(m);
    g.sources.insert(source);
    g.kept.insert(source);
  }
  for (const auto& specs : g.specs)
    for (const auto& spec : specs) {
      int64_t shared = 0;
      for (const auto& p : param_table(spec))
        if (spec.family().is_shared_embedding(p.name)) shared += p.numel();
      for (const auto& m : g.methods) {
        if (g.counts.count({spec.str(), m})) continue;
        ParamMap host = init_params(spec, 0);
        std::unique_ptr<Adaptation> a;
        try {
          SourceModules sources;  // as many as the grid's tasks, fresh: the counts do not depend on what they learned
          if (g.source_of.count(m) && !g.incremental.count(m))
            for (size_t t = 0; t < g.tasks.size(); ++t) {
              ParamMap h = init_params(spec, 0);
              sources.tasks.push_back(g.tasks[t].def().name);
              sources.modules.push_back(attach_method(g.source_of.at(m), spec, h, t)->modules());
            }
          a = attach_method(m, spec, host, 0, g.source_of.count(m) ? &sources : nullptr);
        } catch (const Error& e) {
          throw Error(std::string(e.what()) + " (for " + spec.str() + ")");
        }
        TAL_REQUIRE(a->trainable_count() > 0, "key 'finetune.methods': method '", m, "' trains nothing on ",
                    spec.str(), " (a language model has no classifier head)");
        int64_t stored_shared = 0;
        for (const auto& [name, t] : a->stored())
          if (spec.family().is_shared_embedding(name)) stored_shared += t.numel();
        g.counts[{spec.str(), m}] = {a->trainable_count(), a->stored_count(), shared, stored_shared,
                                     a->suite_stored_count(), a->mergeable()};
      }
    }
}

// The tasks whose runs of its source method a run of `method` on task `t` reads: every task of the grid, in the grid's
// order; for an incremental method the tasks before `t` in the suite order.
std::vector<size_t> source_tasks(const Grid& g, const std::string& method, size_t t) {
  if (!g.incremental.count(method)) {
    std::vector<size_t> all(g.tasks.size());
    std::iota(all.begin(), all.end(), size_t{0});
    return all;
  }
  return {g.order.begin(), g.order.begin() + static_cast<std::ptrdiff_t>(g.position[t])};
}

size_t arch_index(const Grid& g, const std::string& arch) {
  return static_cast<size_t>(std::find(g.archs.begin(), g.archs.end(), arch) - g.archs.begin());
}

// The origins of ported modules: "init/task", both in the grid (the origin run uses the grid's recipe and the
// destination cell's architecture, rate and seed).
struct Origin {
  std::string text, init;
  size_t task = 0;
};
std::vector<Origin> port_origins(const Grid& g, const FinetuneOptions& f) {
  std::vector<Origin> out;
  for (const auto& text : f.port_from) {
    const auto slash = text.find('/');
    TAL_REQUIRE(slash != std::string::npos, "key 'finetune.port_from': '", text.substr(0, 80),
                "' (expected init/task, e.g. tal/fmnist-footwear)");
    Origin o{text, text.substr(0, slash), 0};
    const std::string task = text.substr(slash + 1);
    TAL_REQUIRE(is_one_of(o.init, f.inits), "key 'finetune.port_from': '", text.substr(0, 80), "': initialisation '",
                o.init.substr(0, 40), "' is not one of finetune.inits (", join_choices(f.inits), ")");
    std::vector<std::string> names;
    for (const auto& t : g.tasks) names.push_back(t.def().name);
    const auto it = std::find(names.begin(), names.end(), task);
    TAL_REQUIRE(it != names.end(), "key 'finetune.port_from': '", text.substr(0, 80), "': task '", task.substr(0, 40),
                "' is not one of the grid's tasks (", join_choices(names), ")", did_you_mean(task, names));
    o.task = static_cast<size_t>(it - names.begin());
    TAL_REQUIRE(std::none_of(out.begin(), out.end(), [&](const Origin& x) { return x.text == text; }),
                "key 'finetune.port_from': ", text, " is named twice");
    out.push_back(o);
  }
  TAL_REQUIRE(out.empty() || std::any_of(g.methods.begin(), g.methods.end(), method_ports),
              "key 'finetune.port_from': no method of finetune.methods has modules to port (lora, adapter)");
  return out;
}

// What the protocol needs per task: the validation slice (the same for every initialisation, seed, rank and
// resume) and the task's kind.
void add_protocol(Grid& g, const CommandOptions& o) {
  const auto& f = o.finetune;
  g.rates = f.learning_rates();
  g.heads = f.heads;
  g.evals = evaluation_steps(f);
  g.recipe = recipe_text(f);
  for (const auto& task : g.tasks) {
    g.splits.push_back(validation_split(task.size(Split::Train), f.val_fraction,
                                        stable_hash(task.def().hash()) ^ static_cast<uint64_t>(o.run.seed)));
    TAL_REQUIRE(g.rates.size() == 1 || !g.splits.back().val.empty(), "key 'finetune.val_fraction': ", f.val_fraction,
                " of task '", task.def().name, "''s ", task.size(Split::Train), " training examples is no example: ",
                "nothing to choose among ", g.rates.size(), " learning rates with");
    TAL_REQUIRE(static_cast<int64_t>(g.splits.back().train.size()) >= f.batch, "key 'finetune.batch': ", f.batch,
                " is larger than task '", task.def().name, "''s ", g.splits.back().train.size(),
                " training images left after its validation slice (finetune.val_fraction=", f.val_fraction, ")");
  }
  g.kinds = task_kinds_of(g.tasks, o.ancestry.checkpoint);
}

// The cells, keyed by what defines them; a cell named twice is refused.
void add_cells(Grid& g, const CommandOptions& o, Initializers& inits) {
  const auto& f = o.finetune;
  const ZooOptions* zoo = inits.training_zoo();
  for (size_t t = 0; t < g.tasks.size(); ++t)
    for (size_t a = 0; a < g.archs.size(); ++a) {
      const ArchSpec& spec = g.specs[t][a];
      const bool in_zoo = zoo && zoo_contains(zoo->rules_for(data_shape(g.tasks[t])), spec);
      for (const auto& init : f.inits) {
        const InitName name = split_init_name(init);
        if (name.tuned_on == g.tasks[t].def().name) continue;  // a host tuned on a task is another task's host
        const std::vector<std::string> heads =
            inits.has_head_choice(init, g.tasks[t]) ? f.heads : std::vector<std::string>{"own"};
        for (const auto& method : g.methods)
        for (const auto& head : heads)
          for (const double lr : g.rates)
            for (int64_t seed = 0; seed < f.seeds; ++seed) {
              Cell c;
              c.task = t;
              c.spec = spec;
              c.meta.task = g.tasks[t].def().name;
              c.meta.arch = g.archs[a];
              c.meta.spec = spec.str();
              c.meta.arch_id = spec.id();
              c.meta.init = init;
              c.meta.seed = seed;
              c.meta.heldout = g.tasks[t].def().heldout;
              c.meta.task_kind = g.kinds[t];
              c.meta.lr = lr;
              c.meta.head = head;
              c.meta.in_zoo = in_zoo;
              c.meta.metric = g.tasks[t].def().metric;
              c.meta.params = count_params(spec, false);
              c.meta.method = method;
              const auto& counts = g.counts.at({spec.str(), method});
              c.meta.trainable = counts.trainable;
              c.meta.stored = counts.stored;
              c.meta.shared_embeddings = counts.shared_embeddings;
              c.meta.stored_shared = counts.stored_shared;
              c.meta.suite_stored = counts.suite_stored;
              c.meta.key = Fnv1a()
                               .add(g.tasks[t].def().hash())
                               .add(spec.str())
                               .add(init)
                               .add(inits.info(init).source_hash)
                               .add(std::to_string(seed) + " " + std::to_string(o.run.seed))
                               .add(g.recipe)
                               .add(strf("lr=%.17g head=%s", lr, head.c_str()))
                               .add(inits.tiled_source(init, spec))
                               .add(method == "full" ? std::string() : "method=" + method)
                               .hex();
              const auto fc = spec.family().forward_cost(spec);
              c.cost = (fc.flops + fc.elements) *
                       static_cast<double>(3 * f.steps * f.batch +
                                           static_cast<int64_t>(g.evals.size()) * f.eval_images +
                                           static_cast<int64_t>(g.splits[t].val.size()));
              if (g.source_of.count(method)) {  // its sources: every task's run of the source method (an incremental
                                                // method's: the earlier tasks' in the suite order), each at the rate
                                                // validation chose among the grid's
                Fnv1a key;
                key.add(c.meta.key).add("sources=" + g.source_of.at(method));
                for (const size_t s : source_tasks(g, method, t)) key.add(g.tasks[s].def().hash());
                for (const double rate : g.rates) key.add(strf("%.17g", rate));
                for (const auto& h : f.heads) key.add(h);
                c.meta.key = key.hex();
                c.phase = g.incremental.count(method) ? 1 + g.position[t] : 1;
              }
              if (!name.tuned_on.empty()) {  // the host's own run, on the other task's data, is part of the cell
                const size_t from = task_index(g, name.tuned_on);
                c.meta.key = Fnv1a()
                                 .add(c.meta.key)
                                 .add("tuned on " + g.tasks[from].def().hash())
                                 .add(strf("tuned lr=%.17g", f.tuned_lr > 0 ? f.tuned_lr : lr))
                                 .add(inits.tiled_source(init, g.specs[from][a]))
                                 .hex();
                c.cost *= 2;
              }
              g.cells.push_back(std::move(c));
            }
      }
    }
  // Ported modules: every lora / adapter cell again with its modules from each origin (not its own host and task).
  const auto origins = port_origins(g, f);
  const size_t plain = g.cells.size();
  for (size_t i = 0; i < plain; ++i)
    for (const auto& origin : origins) {
      const Cell c = g.cells[i];  // a copy: the cells grow below
      if (!method_ports(c.meta.method) || (origin.init == c.meta.init && g.tasks[origin.task].def().name == c.meta.task))
        continue;
      for (const char* mode : {"ported", "sampled"}) {
        Cell p = c;
        p.meta.port = mode;
        p.meta.port_from = origin.text;
        // The origin's run is part of the cell: its initialisation's source, tiled tables and task's data.
        p.meta.key = Fnv1a()
                         .add(c.meta.key)
                         .add(std::string("port=") + mode + " from=" + origin.text)
                         .add(inits.info(origin.init).source_hash)
                         .add(inits.tiled_source(origin.init, g.specs[origin.task][arch_index(g, c.meta.arch)]))
                         .add(g.tasks[origin.task].def().hash())
                         .hex();
        if (const auto tuned = split_init_name(origin.init).tuned_on; !tuned.empty())
          p.meta.key = Fnv1a()
                           .add(p.meta.key)
                           .add("tuned on " + g.tasks[task_index(g, tuned)].def().hash())
                           .add(strf("tuned lr=%.17g", f.tuned_lr > 0 ? f.tuned_lr : c.meta.lr))
                           .hex();
        p.cost = 2 * c.cost;  // the origin's run, then the destination's
        g.cells.push_back(std::move(p));
      }
    }
  std::map<std::string, const Cell*> seen;
  for (const auto& c : g.cells) {
    const auto [it, fresh] = seen.emplace(c.meta.key, &c);
    TAL_REQUIRE(fresh, "keys 'finetune.tasks' and 'finetune.archs': the run (", c.meta.task, ", ", c.meta.spec, ", ",
                c.meta.init, ", ", c.meta.method, ", lr ", c.meta.lr, ", seed ", c.meta.seed, ") is named twice (", it->second->meta.arch,
                " and ", c.meta.arch, ")");
  }
}

// What is done already: rank 0 reads the results file and reconciles it with the grid (reconcile.h), then tells
// the others which cells are done, or that it refused the file.
std::vector<bool> cells_done(const Grid& g, const std::string& path, Communicator& comm, FinetuneResults& results) {
  const auto n = static_cast<int64_t>(g.cells.size());
  auto done = at::zeros({n + 1}, at::kInt);  // the last element: rank 0 refused the file
  std::string refused;
  if (comm.rank() == 0 && std::filesystem::exists(path)) {
    try {
      std::vector<GridCell> grid;
      for (const auto& c : g.cells) {
        const Task& task = g.tasks[c.task];
        grid.push_back({c.meta, !task.def().pack && task.num_classes() <= kConfusionClasses});
      }
      auto r = reconcile_results(read_finetune_results(path), g.recipe, grid, path);
      if (r.other_checkpoint > 0)
        std::printf("finetune: %zu run(s) in %s were made from another checkpoint of their hypernetwork; they are run "
                    "again\n", r.other_checkpoint, path.c_str());
      if (r.without_mcc > 0)
        std::printf("finetune: %zu run(s) in %s have no MCC curve (recorded before it was); they are run again\n",
                    r.without_mcc, path.c_str());
      // A recorded source run whose modules file is gone is run again (a multi-task run reads the file).
      std::set<std::string> lost;
      for (int64_t i = 0; i < n; ++i) {
        const auto& meta = g.cells[static_cast<size_t>(i)].meta;
        if (r.done[static_cast<size_t>(i)] && g.sources.count(meta.method) && meta.port.empty() &&
            !std::filesystem::exists(kept_modules_path(std::filesystem::path(path).parent_path().string(), meta.key)))
          lost.insert(meta.key);
        else if (r.done[static_cast<size_t>(i)])
          done[i] = 1;
      }
      if (!lost.empty()) {
        std::printf("finetune: %zu source run(s) in %s have no modules file (modules/); they are run again\n",
                    lost.size(), path.c_str());
        auto& kept = r.results.cells;
        kept.erase(std::remove_if(kept.begin(), kept.end(), [&](const FinetuneCell& c) { return lost.count(c.key) > 0; }),
                   kept.end());
      }
      results = std::move(r.results);
    } catch (const Error& e) {
      refused = e.what();
      done[n] = 1;
    }
  }
  comm.broadcast(done, 0, "finetune cells done");
  if (done[n].item<int>() != 0) throw Error(comm.rank() == 0 ? refused : "rank 0 refused " + path);
  std::vector<bool> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(done[i].item<int>() != 0);
  return out;
}

// The head a run on `task` starts with when its cell chose `head`: the cell's choice where the initialisation has
// one on that task, else its own (a hypernetwork's predicted head on a seen task, the family's otherwise).
std::string head_on(Initializers& inits, const std::string& init, const Task& task, const std::string& head) {
  if (!inits.has_head_choice(init, task)) return "own";
  return head == "own" ? "predicted" : head;
}

// The initial weights of a run of `spec` on task `t`: the initialisation's, or for a tuned host (INIT>TASK) INIT's
// descendant on TASK fine-tuned with every parameter (the grid's recipe, finetune.tuned_lr or this run's rate, its
// seed) whose body then carries INIT's head for `t`. Nothing (preempted) when the host's run was stopped.
std::optional<ParamMap> initial_weights(const Grid& g, const CommandOptions& o, Initializers& inits,
                                        const std::string& init, size_t t, size_t a, const std::string& head,
                                        double lr, uint64_t seed) {
  const auto& f = o.finetune;
  ParamMap params = inits.make(init, g.tasks[t], g.specs[t][a], seed, head, f.noise_beta);
  const std::string tuned_on = split_init_name(init).tuned_on;
  if (tuned_on.empty()) return params;
  const size_t from = task_index(g, tuned_on);
  const ArchSpec& spec = g.specs[from][a];
  ParamMap host = inits.make(init, g.tasks[from], spec, seed, head_on(inits, init, g.tasks[from], head), f.noise_beta);
  if (!finetune_run(spec, host, g.tasks[from], g.splits[from], f, f.tuned_lr > 0 ? f.tuned_lr : lr, seed,
                    [] { return preemption_requested(); })
           .completed)
    return std::nullopt;
  at::NoGradGuard no_grad;
  for (auto& [name, tensor] : params)  // the shapes were checked (check_tuned_hosts)
    if (!spec.family().is_classifier(name)) tensor.copy_(host.at(name));
  return params;
}

// A ported cell's modules: trained first on the origin's host and task with the cell's method, rate and seed, then
// copied (or sampled) into the destination's; the head too when origin and destination are one task. False when
// preempted during the origin's run.
bool port_in(const Grid& g, const Cell& c, const CommandOptions& o, Initializers& inits, uint64_t seed,
             ParamMap& params, Adaptation& method) {
  const auto& f = o.finetune;
  const auto slash = c.meta.port_from.find('/');
  const std::string init = c.meta.port_from.substr(0, slash), task_name = c.meta.port_from.substr(slash + 1);
  const size_t t = task_index(g, task_name), a = arch_index(g, c.meta.arch);
  const ArchSpec& spec = g.specs[t][a];
  // The origin's head: the cell's choice where the origin has one too (a hypernetwork's on a held-out task).
  auto start = initial_weights(g, o, inits, init, t, a, head_on(inits, init, g.tasks[t], c.meta.head), c.meta.lr, seed);
  if (!start) return false;
  ParamMap& origin = *start;
  const auto trained = attach_method(c.meta.method, spec, origin, seed);
  const auto run = finetune_run(spec, origin, g.tasks[t], g.splits[t], f, c.meta.lr, seed,
                                [] { return preemption_requested(); }, trained.get());
  if (!run.completed) return false;
  port_modules(*trained, method, c.meta.port, seed);
  if (t == c.task && c.meta.port == "ported") {  // the head goes with the module on its own task (not sampled)
    std::vector<std::pair<std::string, at::Tensor>> from, to;
    for (const auto& p : param_table(c.spec))
      if (c.spec.family().is_classifier(p.name)) {
        from.emplace_back(p.name, origin.at(p.name));
        to.emplace_back(p.name, params.at(p.name));
      }
    port_tensors(from, to, "ported", seed + 1);
  }
  return true;
}

// One cell's run on this rank: its initial weights, their layer statistics and the fine-tuning. A run that fails
// fails on this rank alone: it is said at the round's gather, so no rank waits forever.
RunRecord run_cell(const Grid& g, size_t index, const CommandOptions& o, Initializers& inits, int rank,
                   const SourceModules* sources, ParamMap& params, std::string& stored, std::string& failure) {
  const auto& f = o.finetune;
  const Cell& c = g.cells[index];
  const auto t0 = Clock::now();
  const auto seed = static_cast<uint64_t>(o.run.seed * 1000003 + c.meta.seed);
  RunOutcome run;
  double init_ms = 0;
  BodyStats body;
  int64_t stored_after = -1;
  try {
    auto start = initial_weights(g, o, inits, c.meta.init, c.task, arch_index(g, c.meta.arch), c.meta.head, c.meta.lr,
                                 seed);
    init_ms = 1000 * std::chrono::duration<double>(Clock::now() - t0).count();
    if (start) {  // nothing when preempted during a tuned host's own run
      params = std::move(*start);
      body = body_statistics(param_table(c.spec), params);
      const auto method = attach_method(c.meta.method, c.spec, params, seed, sources);
      if (c.meta.port.empty() || port_in(g, c, o, inits, seed, params, *method))
        run = finetune_run(c.spec, params, g.tasks[c.task], g.splits[c.task], f, c.meta.lr, seed,
                           [] { return preemption_requested(); }, method.get());
      if (run.completed) stored_after = method->stored_count();
      if (run.completed && !f.save_weights.empty() && method->mergeable()) method->merge_into(params);
      if (run.completed &&
          ((!f.save_weights.empty() && c.meta.method != "full") || g.kept.count(c.meta.method))) {
        std::map<std::string, std::string> meta = {{"format", "tal-finetuned-modules"},
                                                   {"method", c.meta.method},
                                                   {"task", c.meta.task},
                                                   {"spec", c.spec.str()},
                                                   {"init", c.meta.init},
                                                   {"host_layout", c.spec.family().reference_layout()}};
        if (sources) {  // the source tasks, comma-separated, in the order the method reads them
          std::string names;
          for (const auto& t : sources->tasks) names += (names.empty() ? "" : ",") + t;
          meta["sources"] = names;
        }
        stored = safetensors_bytes(method->stored(), meta);
      }
    }
  } catch (const std::exception& e) {
    failure = strf("rank %d: run (%s, %s, %s, %s, lr %g, seed %lld): %s", rank, c.meta.task.c_str(),
                   c.meta.arch.c_str(), c.meta.init.c_str(), c.meta.method.c_str(), c.meta.lr, static_cast<long long>(c.meta.seed), e.what());
    std::fprintf(stderr, "tal: error: %s\n", failure.c_str());
    run = RunOutcome();
  }
  auto record = RunRecord::of(static_cast<int64_t>(index), run,
                              std::chrono::duration<double>(Clock::now() - t0).count(), init_ms, body);
  record.failed = !failure.empty();
  record.stored = stored_after;
  return record;
}

// The sources of each multi-task cell: every task's run of its source method on the same host (architecture,
// initialisation, seed), at the rate validation chose. Rank 0 finds them in the results and the run's modules/ and
// sends them to every rank; a source that is missing is one line on every rank.
std::map<size_t, SourceModules> sources_of_cells(const Grid& g, const std::string& run_dir,
                                                 const std::vector<size_t>& cells, const FinetuneResults& results,
                                                 Communicator& comm) {
  std::string plan;  // rank 0: per cell "INDEX KEY..." lines; "!" and the reason when one is missing
  std::vector<std::string> keys;
  if (comm.rank() == 0) {
    try {
      for (size_t index : cells) {
        const Cell& c = g.cells[index];
        plan += std::to_string(index);
        for (const size_t s : source_tasks(g, c.meta.method, c.task)) {
          const Task& task = g.tasks[s];
          std::vector<std::string> heads = {c.meta.head, "own"};
          heads.insert(heads.end(), g.heads.begin(), g.heads.end());
          const std::string key = source_run(results.cells, task.def().name, c.meta.arch, c.meta.init, c.meta.seed,
                                             heads, g.source_of.at(c.meta.method));
          TAL_REQUIRE(!key.empty() && std::filesystem::exists(kept_modules_path(run_dir, key)), "finetune: '", c.meta.method,
                      "' on (", c.meta.task, ", ", c.meta.arch_id, ", ", c.meta.init, ", seed ", c.meta.seed,
                      ") has no recorded ", g.source_of.at(c.meta.method), " run on task '", task.def().name,
                      "' with its modules file to read");
          plan += " " + key;
          if (!is_one_of(key, keys)) keys.push_back(key);
        }
        plan += "\n";
      }
    } catch (const Error& e) {
      plan = std::string("!") + e.what();
    }
  }
  plan = broadcast_bytes(comm, plan, "finetune sources plan");
  if (!plan.empty() && plan[0] == '!') throw Error(plan.substr(1));
  // Every rank: the files' tensors, once per source run.
  std::map<std::string, std::vector<std::pair<std::string, at::Tensor>>> modules;
  std::istringstream lines(plan);
  std::string line;
  std::map<size_t, SourceModules> out;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    size_t index = 0;
    words >> index;
    SourceModules& s = out[index];
    std::string key;
    for (const size_t t : source_tasks(g, g.cells[index].meta.method, g.cells[index].task)) {
      const Task& task = g.tasks[t];
      words >> key;
      if (!modules.count(key)) {
        const std::string path = kept_modules_path(run_dir, key);
        std::string bytes;
        if (comm.rank() == 0) {
          std::ifstream in(path, std::ios::binary);
          bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
        const auto file = parse_safetensors(broadcast_bytes(comm, bytes, "finetune source modules"), path);
        modules[key].assign(file.tensors.begin(), file.tensors.end());
      }
      s.tasks.push_back(task.def().name);
      s.modules.push_back(modules.at(key));
    }
  }
  return out;
}

// Rank 0's record of the grid: each finished run into the results file (rewritten after every round), its line on
// stdout and in metrics.jsonl, its weights into the archive (before the results: a run in the file is never run
// again), and the progress line.
class GridRecorder {
 public:
  GridRecorder(const Grid& g, const CommandOptions& o, const Initializers& inits, FinetuneResults& results,
               std::string path, size_t done, double total_cost)
      : g_(g), f_(o.finetune), inits_(inits), results_(results), path_(std::move(path)), done_(done),
        total_cost_(total_cost), run_dir_(o.run.dir), metrics_(o.run.dir + "/metrics.jsonl"), start_(Clock::now()) {}

  // One round: every rank's record, and (with finetune.save_weights) its flat weights.
  void round(const std::vector<RunRecord>& records, const std::vector<at::Tensor>& weights,
             const std::vector<std::string>& stored, size_t round, size_t rounds) {
    std::vector<ArchiveModel> archived;
    for (size_t r = 0; r < records.size(); ++r) {
      const RunRecord& rec = records[r];
      if (!rec.present || !rec.completed) continue;
      const Cell& c = g_.cells[static_cast<size_t>(rec.cell)];
      const FinetuneCell out = result_of(c, rec);
      results_.cells.push_back(out);
      cost_done_ += c.cost;
      ++done_;
      say(out);
      if (!f_.save_weights.empty() && weights[r].numel() > 0) archived.push_back(archived_model(c, out, weights[r]));
      if (!f_.save_weights.empty() && !stored[r].empty() && out.method != "full") {
        const std::string dir = modules_dir(f_.save_weights) + "/" + out.task;
        std::filesystem::create_directories(dir);
        write_bytes_atomically(dir + "/" + model_id(out) + ".safetensors", stored[r]);
      }
      if (g_.kept.count(out.method) && out.port.empty()) {
        // Kept in the run: a multi-task method's source (read by its runs), ScaLearn's scales, TAPS's scores (the
        // report's).
        const std::string path = kept_modules_path(run_dir_, out.key);
        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
        write_bytes_atomically(path, stored[r]);
      }
    }
    results_.inits = inits_.infos();
    average_init_times(results_);
    compute_steps_to(results_);
    if (!archived.empty()) append_to_archive(f_.save_weights, archived);
    write_finetune_results(path_, results_);
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const double eta = cost_done_ > 0 ? elapsed / cost_done_ * (total_cost_ - cost_done_) : 0;
    Progress()
        .add("finetune", "stage", std::string("finetune-progress"))
        .add(strf("cells %zu/%zu", done_, g_.cells.size()), "cells_done", static_cast<int64_t>(done_))
        .add(strf("round %zu/%zu", round + 1, rounds), "round", static_cast<int64_t>(round + 1))
        .add(strf("elapsed %s", duration_text(elapsed).c_str()), "elapsed_s", elapsed)
        .show("ETA " + duration_text(eta))
        .emit(metrics_);
  }

  size_t done() const { return done_; }

 private:
  FinetuneCell result_of(const Cell& c, const RunRecord& rec) const {
    FinetuneCell out = c.meta;
    out.eval_steps = g_.evals;
    out.accuracy = rec.accuracy;
    if (!g_.tasks[c.task].def().pack) out.mcc = rec.mcc;
    out.loss = rec.loss;
    if (rec.stored >= 0) out.stored = rec.stored;  // what the run ended up storing (TAPS: its active layers)
    out.seconds = rec.seconds;
    out.init_ms = rec.init_ms;
    out.val_accuracy = rec.val_accuracy;
    out.val_mcc = rec.val_mcc;
    out.body_cosine = rec.body.cosine;
    out.body_stable_rank = rec.body.stable_rank;
    out.body_std = rec.body.std;
    return out;
  }

  void say(const FinetuneCell& out) {
    std::printf("finetune  %-26s %-34s %-16s %s%s lr %-7g seed %lld  zero-shot %5.1f%%  val %5.1f%%  final "
                "%5.1f%%%s  (%.1f s)\n",
                out.task.c_str(), out.arch_id.c_str(), out.init.c_str(),
                out.method == "full" ? ""
                                     : (out.method + " (" + with_commas(out.trainable) + " trained" +
                                        (out.port.empty() ? "" : ", " + out.port + " from " + out.port_from) + ") ")
                                           .c_str(),
                out.head == "own" ? "         " : strf("%-9s", (out.head + "-head").c_str()).c_str(), out.lr,
                static_cast<long long>(out.seed), 100 * out.zero_shot(), 100 * out.val_accuracy,
                100 * out.final_accuracy(), out.metric == "mcc" ? strf("  MCC %.3f", out.final_mcc()).c_str() : "",
                out.seconds);
    JsonLine line;
    line.add("stage", std::string("finetune"))
        .add("task", out.task)
        .add("arch", out.arch_id)
        .add("init", out.init)
        .add("method", out.method)
        .add("trainable", out.trainable)
        .add("port", out.port)
        .add("port_from", out.port_from)
        .add("lr", out.lr)
        .add("head", out.head)
        .add("seed", out.seed)
        .add("val_accuracy", out.val_accuracy)
        .add("zero_shot", out.zero_shot())
        .add("final_accuracy", out.final_accuracy());
    if (!out.mcc.empty()) line.add("final_mcc", out.final_mcc());
    metrics_.write(line.add("seconds", out.seconds));
  }

  // arch.init[.head-HEAD][.METHOD[.PORT-from-ORIGIN]].lrRATE.seedN: dot-separated, the rate's dot written as 'p'
  // (lr0p003), the method's punctuation as '-' (lora-r4-alphaauto-targetsqv).
  static std::string model_id(const FinetuneCell& out) {
    auto plain = [](std::string text) {
      text.erase(std::remove(text.begin(), text.end(), '='), text.end());
      std::replace_if(text.begin(), text.end(), [](char ch) { return ch == ':' || ch == ',' || ch == '.' || ch == '/' || ch == '>'; },
                      '-');
      return text;
    };
    std::string rate = strf("%.10g", out.lr);
    std::replace(rate.begin(), rate.end(), '.', 'p');
    std::string init = out.init;  // a tuned host, tal>fmnist-bags: tal-then-fmnist-bags
    if (const auto mark = init.find('>'); mark != std::string::npos) init.replace(mark, 1, "-then-");
    return out.arch_id + "." + init + (out.head == "own" ? "" : ".head-" + out.head) +
           (out.method == "full" ? "" : "." + plain(out.method)) +
           (out.port.empty() ? "" : "." + out.port + "-from-" + plain(out.port_from)) + ".lr" + rate + ".seed" +
           std::to_string(out.seed);
  }

  ArchiveModel archived_model(const Cell& c, const FinetuneCell& out, const at::Tensor& flat) const {
    ArchiveModel m;
    m.task = out.task;
    m.arch_id = model_id(out);
    m.spec = c.spec;
    int64_t offset = 0;
    for (const auto& info : param_table(c.spec)) {
      const int64_t n = info.numel();
      m.params[info.name] = flat.narrow(0, offset, n).view(info.shape).clone();
      offset += n;
    }
    m.task_def = g_.tasks[c.task].def();
    m.classes = g_.tasks[c.task].class_names();
    m.checkpoint_step = inits_.info(out.init).source_step;
    m.checkpoint_hash = inits_.info(out.init).source_hash;
    m.hypernet_variant = "finetuned:" + out.init;
    return m;
  }

  const Grid& g_;
  const FinetuneOptions& f_;
  const Initializers& inits_;
  FinetuneResults& results_;
  std::string path_;
  size_t done_;
  double total_cost_, cost_done_ = 0;
  std::string run_dir_;
  MetricsLog metrics_;
  Clock::time_point start_;
};

}  // namespace

int64_t run_of(size_t pending, int world, int rank, size_t round) {
  const size_t slot = round * static_cast<size_t>(world) + static_cast<size_t>(rank);
  return slot < pending ? static_cast<int64_t>(slot) : -1;
}

size_t rounds_for(size_t pending, int world) { return (pending + static_cast<size_t>(world) - 1) / static_cast<size_t>(world); }

int run_finetune_grid(const CommandOptions& o, const std::string& config_yaml, Communicator& comm) {
  const auto& f = o.finetune;
  const bool root = comm.rank() == 0;
  TAL_REQUIRE(!f.inits.empty(), "key 'finetune.inits': give at least one initialisation (",
              join_choices(finetune_init_names()), ")");
  for (const auto& i : f.inits) check_init_name(i);
  const std::string results_path = o.run.dir + "/finetune.h5";
  require_distinct_output("finetune.save_weights", f.save_weights,
                          {{"the run.dir results", results_path}, {"the finetune.tal", f.tal}, {"the finetune.logah", f.logah},
                           {"the finetune.ghn3", f.ghn3}, {"the finetune.tal_inherit", f.tal_inherit},
                           {"the ancestry.checkpoint", o.ancestry.checkpoint}});
  if (!f.save_weights.empty() && std::filesystem::exists(f.save_weights)) {
    try {  // refused before any run is trained, not when the first round is archived
      archive_tasks(f.save_weights);
    } catch (const Error& e) {
      throw Error(std::string("key 'finetune.save_weights': ") + e.what());
    }
  }

  // 1. The grid of cells.
  Grid g = grid_tasks(o);
  const RunDevice device = run_device(o.device, comm.backend(), comm.world());
  Initializers inits(o, f.inits, g.tasks, device.device);
  check_initialisations(g, f, inits);
  check_methods(g, f);
  add_protocol(g, o);
  add_cells(g, o, inits);

  // 2. What an earlier run of it left in the results file (and what a writer killed mid-write left beside it).
  if (root)
    for (const auto& dir : {o.run.dir, o.run.dir + "/modules"})
      for (const auto& orphan : sweep_dead_temporaries(dir))
        std::printf("finetune: removed %s, the temporary of a writer that was killed\n", orphan.c_str());
  FinetuneResults results;
  const auto done = cells_done(g, results_path, comm, results);
  results.recipe = g.recipe;
  results.config_yaml = config_yaml;
  // The cells to run, by phase (Cell::phase): each phase's once every earlier phase's are recorded.
  std::vector<std::vector<size_t>> phases(1);
  size_t pending = 0;
  for (size_t i = 0; i < g.cells.size(); ++i)
    if (!done[i]) {
      if (phases.size() <= g.cells[i].phase) phases.resize(g.cells[i].phase + 1);
      phases[g.cells[i].phase].push_back(i);
      ++pending;
    }
  for (auto& cells : phases)
    std::stable_sort(cells.begin(), cells.end(), [&](size_t a, size_t b) { return g.cells[a].cost > g.cells[b].cost; });
  double total_cost = 0;
  for (const auto& cells : phases)
    for (size_t i : cells) total_cost += g.cells[i].cost;

  const int world = comm.world();
  size_t rounds = 0;
  for (const auto& cells : phases) rounds += rounds_for(cells.size(), world);
  const ZooOptions* zoo = inits.training_zoo();
  if (root) {
    std::printf("finetune: %zu cells (%zu tasks x %zu architectures x %zu initialisations x %zu methods x %zu learning "
                "rates x %lld seeds, and head choices on held-out tasks), %zu done, %zu to run on %d rank(s) in %zu "
                "rounds; %lld steps of %lld images each, %d thread(s) per rank -> %s\n",
                g.cells.size(), g.tasks.size(), g.archs.size(), f.inits.size(), g.methods.size(), g.rates.size(),
                static_cast<long long>(f.seeds), g.cells.size() - pending, pending, world, rounds,
                static_cast<long long>(f.steps), static_cast<long long>(f.batch), at::get_num_threads(),
                results_path.c_str());
    for (size_t t = 0; t < g.tasks.size(); ++t)
      std::printf("task  %-34s %-14s %6zu training, %5zu validation (held back), %5lld test examples\n",
                  g.tasks[t].def().name.c_str(), g.kinds[t].c_str(), g.splits[t].train.size(), g.splits[t].val.size(),
                  static_cast<long long>(g.tasks[t].size(Split::Test)));
    if (!g.incremental.empty()) {
      std::string names;
      for (const size_t t : g.order) names += (names.empty() ? "" : " -> ") + g.tasks[t].def().name;
      std::printf("suite order  %s (each task's %s run reads the models of the tasks before it, never their data)\n",
                  names.c_str(), join_choices({g.incremental.begin(), g.incremental.end()}).c_str());
    }
    if (zoo)
      for (size_t a = 0; a < g.archs.size(); ++a)
        std::printf("arch  %-40s %s the training zoo (%s, %s)\n", g.archs[a].c_str(),
                    zoo_contains(zoo->rules_for(data_shape(g.tasks[0])), g.specs[0][a]) ? "inside" : "outside",
                    zoo->rules.c_str(), zoo->profile.c_str());
    std::printf("device  %s (%s)\n", device.device.str().c_str(), device.reason.c_str());
    std::fflush(stdout);
  }
  std::unique_ptr<GridRecorder> recorder;
  if (root)
    recorder = std::make_unique<GridRecorder>(g, o, inits, results, results_path,
                                              g.cells.size() - pending, total_cost);

  // 3. The rounds: one run per rank, every rank's record gathered, rank 0 records them; the multi-task cells last,
  //    with the modules their sources left.
  auto run_rounds = [&](const std::vector<size_t>& cells, size_t first_round,
                        const std::map<size_t, SourceModules>& sources) {
    for (size_t round = 0; round < rounds_for(cells.size(), world); ++round) {
      const int64_t slot = run_of(cells.size(), world, comm.rank(), round);
      RunRecord mine;
      ParamMap params;
      std::string stored, failure;
      if (slot >= 0 && !preemption_requested()) {
        const size_t index = cells[static_cast<size_t>(slot)];
        const auto it = sources.find(index);
        mine = run_cell(g, index, o, inits, comm.rank(), it == sources.end() ? nullptr : &it->second, params, stored,
                        failure);
      }
      const auto all = comm.allgather(mine.pack(g.evals.size(), f.steps), "finetune results");
      std::vector<RunRecord> records;
      for (int r = 0; r < world; ++r) records.push_back(RunRecord::unpack(all[r], g.evals.size(), f.steps));
      for (int r = 0; r < world; ++r)
        if (records[static_cast<size_t>(r)].failed) {
          if (!failure.empty()) throw Error(failure);
          throw Error(strf("rank %d failed a fine-tuning run (its error is above); the results file keeps the runs "
                           "finished before this round",
                           r));
        }
      std::vector<at::Tensor> weights;
      std::vector<std::string> stored_by_rank(static_cast<size_t>(world));
      if (!f.save_weights.empty()) {
        std::vector<at::Tensor> flat;
        if (mine.present && mine.completed) {
          const Cell& c = g.cells[static_cast<size_t>(mine.cell)];
          if (g.counts.at({c.spec.str(), c.meta.method}).mergeable)
            for (const auto& p : param_table(c.spec)) flat.push_back(params.at(p.name).detach().flatten().to(at::kCPU));
        }
        weights = gather_variable(comm, flat.empty() ? at::zeros({0}, at::kFloat) : at::cat(flat));
      }
      if (!f.save_weights.empty() || !g.kept.empty()) {
        // The stored tensors' safetensors bytes, one float per byte (exact).
        auto bytes = at::empty({static_cast<int64_t>(stored.size())}, at::kByte);
        if (!stored.empty()) std::memcpy(bytes.data_ptr(), stored.data(), stored.size());
        const auto all_bytes = gather_variable(comm, bytes.to(at::kFloat));
        for (int r = 0; r < world; ++r) {
          const auto b = all_bytes[static_cast<size_t>(r)].to(at::kByte).contiguous();
          stored_by_rank[static_cast<size_t>(r)].assign(static_cast<const char*>(b.data_ptr()),
                                                        static_cast<size_t>(b.numel()));
        }
      }
      const bool stopping = comm.any(preemption_requested(), "finetune preemption");
      if (root) recorder->round(records, weights, stored_by_rank, first_round + round, rounds);
      if (stopping) {
        if (root)
          std::printf("finetune: preempted; %zu of %zu cells are in %s; run the same command again to finish\n",
                      recorder->done(), g.cells.size(), results_path.c_str());
        std::fflush(stdout);
        return false;
      }
    }
    return true;
  };
  size_t first_round = 0;
  for (size_t phase = 0; phase < phases.size(); ++phase) {
    const auto& cells = phases[phase];
    if (cells.empty()) continue;
    if (!run_rounds(cells, first_round, phase == 0 ? std::map<size_t, SourceModules>()
                                                   : sources_of_cells(g, o.run.dir, cells, results, comm)))
      return kPreemptedExitCode;
    first_round += rounds_for(cells.size(), world);
  }

  // 4. The summary of this grid's cells (the file may hold others).
  if (root) {
    if (pending == 0) {
      results.inits = inits.infos();
      average_init_times(results);
      std::printf("finetune: every cell was already done (%s)\n", results_path.c_str());
    }
    std::set<std::string> wanted;
    for (const auto& c : g.cells) wanted.insert(c.meta.key);
    for (const auto& method : g.methods) {
      if (g.methods.size() > 1) std::printf("finetune  method %s\n", method.c_str());
      print_grid_summary(results, f.inits, [&](const FinetuneCell& c) {
        return wanted.count(c.key) > 0 && c.method == method && c.port.empty();
      });
    }
    if (g.methods.size() > 1)
      print_method_table(results, f.inits, g.methods,
                         [&](const FinetuneCell& c) { return wanted.count(c.key) > 0 && c.port.empty(); });
    if (!f.port_from.empty())
      print_porting_table(results, [&](const FinetuneCell& c) { return wanted.count(c.key) > 0; });
  }
  return 0;
}

}  // namespace tal
