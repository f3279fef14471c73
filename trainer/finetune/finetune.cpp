#include "trainer/finetune/finetune.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <numeric>

#include "base/error.h"
#include "base/hash.h"
#include "base/suggest.h"
#include "datasets/atomic_file.h"
#include "hypernet/family.h"
#include "hypernet/zoo.h"
#include "trainer/files/archive.h"
#include "trainer/files/ancestry_file.h"
#include "trainer/files/finetune_results.h"
#include "trainer/finetune/finetune_run.h"
#include "trainer/finetune/grid_summary.h"
#include "trainer/finetune/protocol.h"
#include "trainer/finetune/initializers.h"
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

// [present, completed, cell, seconds, init ms, val accuracy, val mcc, body cosine, stable rank, std, failed,
// accuracy x E, mcc x E, loss x steps]: the same length on every rank.
constexpr size_t kHeader = 11;
at::Tensor pack(bool present, const RunOutcome& run, int64_t cell, double seconds, double init_ms, const BodyStats& body,
                size_t evals, int64_t steps, bool failed) {
  auto t = at::zeros({static_cast<int64_t>(kHeader + 2 * evals) + steps}, at::kDouble);
  auto* p = t.data_ptr<double>();
  p[0] = present;
  p[1] = run.completed;
  p[2] = static_cast<double>(cell);
  p[3] = seconds;
  p[4] = init_ms;
  p[5] = run.val_accuracy;
  p[6] = run.val_mcc;
  p[7] = body.cosine;
  p[8] = body.stable_rank;
  p[9] = body.std;
  p[10] = failed;
  for (size_t i = 0; i < run.accuracy.size() && i < evals; ++i) p[kHeader + i] = run.accuracy[i];
  for (size_t i = 0; i < run.mcc.size() && i < evals; ++i) p[kHeader + evals + i] = run.mcc[i];
  for (size_t i = 0; i < run.loss.size(); ++i) p[kHeader + 2 * evals + i] = run.loss[i];
  return t;
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

}  // namespace

int64_t run_of(size_t pending, int world, int rank, size_t round) {
  const size_t slot = round * static_cast<size_t>(world) + static_cast<size_t>(rank);
  return slot < pending ? static_cast<int64_t>(slot) : -1;
}

size_t rounds_for(size_t pending, int world) { return (pending + static_cast<size_t>(world) - 1) / static_cast<size_t>(world); }

int run_finetune_grid(const CommandOptions& o, const std::string& config_yaml, Communicator& comm) {
  const auto& f = o.finetune;
  const bool root = comm.rank() == 0;
  const auto archs = regroup_specs(f.archs);
  TAL_REQUIRE(!archs.empty(), "key 'finetune.archs': give at least one descendant architecture spec");
  TAL_REQUIRE(!f.inits.empty(), "key 'finetune.inits': give at least one initialisation (",
              join_choices(finetune_init_names()), ")");
  for (const auto& i : f.inits)
    TAL_REQUIRE(is_one_of(i, finetune_init_names()), "key 'finetune.inits': unknown initialisation '", i,
                "' (expected ", join_choices(finetune_init_names()), ")", did_you_mean(i, finetune_init_names()));
  const std::string results_path = o.run.dir + "/finetune.h5";
  require_distinct_output("finetune.save_weights", f.save_weights,
                          {{"the run.dir results", results_path}, {"the finetune.tal", f.tal}, {"the finetune.logah", f.logah},
                           {"the finetune.ghn3", f.ghn3}, {"the finetune.tal_inherit", f.tal_inherit},
                           {"the ancestry.checkpoint", o.ancestry.checkpoint}});

  // The tasks: the suite's, or those named (held-out ones included; they are reported apart).
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
  const auto tasks = resolve_tasks(defs, o.data.root, o.data.memory_limit);
  std::vector<std::vector<ArchSpec>> specs(tasks.size());
  for (size_t t = 0; t < tasks.size(); ++t)
    for (const auto& a : archs) {
      try {
        specs[t].push_back(spec_for_task(a, tasks[t]));
      } catch (const Error& e) {
        throw Error(std::string("key 'finetune.archs': ") + e.what());
      }
      TAL_REQUIRE(tasks[t].size(Split::Train) >= f.batch, "key 'finetune.batch': ", f.batch,
                  " is larger than task '", tasks[t].def().name, "''s ", tasks[t].size(Split::Train),
                  " training images");
    }
  const RunDevice device = run_device(o.device, comm.backend(), comm.world());
  Initializers inits(o, f.inits, tasks, device.device);

  // Every initialisation can make every architecture of the grid: checked on every rank, the same way, before
  // anything is run or written (an architecture a hypernetwork cannot predict would otherwise end the job
  // mid-grid, at the same cell on every resume).
  for (size_t t = 0; t < tasks.size(); ++t)
    for (size_t a = 0; a < archs.size(); ++a)
      for (const auto& init : f.inits) {
        try {
          inits.make(init, tasks[t], specs[t][a], 0);
        } catch (const Error& e) {
          throw Error("key 'finetune.archs': initialisation '" + init + "' cannot make " + archs[a] + " for task '" +
                      tasks[t].def().name + "': " + e.what());
        }
      }

  // What the protocol needs per task: the validation slice (the same for every initialisation, seed, rank and
  // resume), the task's kind, and which architectures lie inside the hypernetworks' training zoo.
  const auto rates = f.learning_rates();
  std::vector<TrainValSplit> splits;
  for (const auto& task : tasks) {
    splits.push_back(validation_split(task.size(Split::Train), f.val_fraction,
                                      stable_hash(task.def().hash()) ^ static_cast<uint64_t>(o.run.seed)));
    TAL_REQUIRE(rates.size() == 1 || !splits.back().val.empty(), "key 'finetune.val_fraction': ", f.val_fraction,
                " of task '", task.def().name, "''s ", task.size(Split::Train), " training examples is no example: ",
                "nothing to choose among ", rates.size(), " learning rates with");
    TAL_REQUIRE(static_cast<int64_t>(splits.back().train.size()) >= f.batch, "key 'finetune.batch': ", f.batch,
                " is larger than task '", task.def().name, "''s ", splits.back().train.size(),
                " training images left after its validation slice (finetune.val_fraction=", f.val_fraction, ")");
  }
  const auto kinds = task_kinds_of(tasks, o.ancestry.checkpoint);
  const ZooOptions* zoo = inits.training_zoo();

  // The cells, keyed by what defines them.
  const std::string recipe = recipe_text(f);
  const auto evals = evaluation_steps(f);
  std::vector<Cell> cells;
  for (size_t t = 0; t < tasks.size(); ++t)
    for (size_t a = 0; a < archs.size(); ++a) {
      const ArchSpec& spec = specs[t][a];
      const bool in_zoo = zoo && zoo_contains(zoo->rules_for(data_shape(tasks[t])), spec);
      for (const auto& init : f.inits) {
        const std::vector<std::string> heads =
            inits.has_head_choice(init, tasks[t]) ? f.heads : std::vector<std::string>{"own"};
        for (const auto& head : heads)
          for (const double lr : rates)
            for (int64_t seed = 0; seed < f.seeds; ++seed) {
              Cell c;
              c.task = t;
              c.spec = spec;
              c.meta.task = tasks[t].def().name;
              c.meta.arch = archs[a];
              c.meta.spec = spec.str();
              c.meta.arch_id = spec.id();
              c.meta.init = init;
              c.meta.seed = seed;
              c.meta.heldout = tasks[t].def().heldout;
              c.meta.task_kind = kinds[t];
              c.meta.lr = lr;
              c.meta.head = head;
              c.meta.in_zoo = in_zoo;
              c.meta.metric = tasks[t].def().metric;
              c.meta.params = count_params(spec, false);
              c.meta.key = Fnv1a()
                               .add(tasks[t].def().hash())
                               .add(spec.str())
                               .add(init)
                               .add(inits.info(init).source_hash)
                               .add(std::to_string(seed) + " " + std::to_string(o.run.seed))
                               .add(recipe)
                               .add(strf("lr=%.17g head=%s", lr, head.c_str()))
                               .add(inits.tiled_source(init, spec))
                               .hex();
              const auto fc = spec.family().forward_cost(spec);
              c.cost = (fc.flops + fc.elements) *
                       static_cast<double>(3 * f.steps * f.batch + static_cast<int64_t>(evals.size()) * f.eval_images +
                                           static_cast<int64_t>(splits[t].val.size()));
              cells.push_back(std::move(c));
            }
      }
    }
  {
    std::map<std::string, const Cell*> seen;
    for (const auto& c : cells) {
      const auto [it, fresh] = seen.emplace(c.meta.key, &c);
      TAL_REQUIRE(fresh, "keys 'finetune.tasks' and 'finetune.archs': the run (", c.meta.task, ", ", c.meta.spec, ", ",
                  c.meta.init, ", lr ", c.meta.lr, ", seed ", c.meta.seed, ") is named twice (", it->second->meta.arch,
                  " and ", c.meta.arch, ")");
    }
  }

  // What is done already: rank 0 reads the results file and tells the others (the last element: it refused it).
  FinetuneResults results;
  const auto n_cells = static_cast<int64_t>(cells.size());
  auto done = at::zeros({n_cells + 1}, at::kInt);
  std::string refused;
  if (root && std::filesystem::exists(results_path)) {
    try {
      results = read_finetune_results(results_path);
      TAL_REQUIRE(results.cells.empty() || results.recipe == recipe, results_path, ": holds ", results.cells.size(),
                  " runs made with another recipe (", results.recipe, "); give another run.dir, or move the file away");
      // A run of a current cell made from another checkpoint (a hypernet trained further) is replaced, not mixed in.
      std::map<std::string, std::string> current;  // what defines a cell but the source -> its key now
      auto what = [](const FinetuneCell& c) {
        return c.task + "|" + c.spec + "|" + c.init + "|" + std::to_string(c.seed) + "|" + strf("%.17g", c.lr) + "|" +
               c.head;
      };
      for (const auto& c : cells) current[what(c.meta)] = c.meta.key;
      const size_t before = results.cells.size();
      results.cells.erase(std::remove_if(results.cells.begin(), results.cells.end(),
                                         [&](const FinetuneCell& c) {
                                           const auto it = current.find(what(c));
                                           return it != current.end() && it->second != c.key;
                                         }),
                          results.cells.end());
      if (results.cells.size() != before)
        std::printf("finetune: %zu run(s) in %s were made from another checkpoint of their hypernetwork; they are run "
                    "again\n", before - results.cells.size(), results_path.c_str());
      // A run of this grid takes its task's metric as the suite now says; one recorded before MCC was (a version 1
      // file) has no MCC curve, and is run again where the evaluator would give it one.
      std::map<std::string, const Cell*> by_key;
      for (const auto& c : cells) by_key[c.meta.key] = &c;
      const size_t with_accuracy_only = results.cells.size();
      results.cells.erase(std::remove_if(results.cells.begin(), results.cells.end(),
                                         [&](FinetuneCell& c) {
                                           const auto it = by_key.find(c.key);
                                           if (it == by_key.end()) return false;
                                           // What the grid now says of the cell (the task's metric and kind,
                                           // the zoo) wins over what an earlier run recorded.
                                           c.metric = it->second->meta.metric;
                                           c.task_kind = it->second->meta.task_kind;
                                           c.heldout = it->second->meta.heldout;
                                           c.in_zoo = it->second->meta.in_zoo;
                                           const Task& task = tasks[it->second->task];
                                           return c.mcc.empty() && !task.def().pack &&
                                                  task.num_classes() <= kConfusionClasses;
                                         }),
                          results.cells.end());
      if (results.cells.size() != with_accuracy_only)
        std::printf("finetune: %zu run(s) in %s have no MCC curve (recorded before it was); they are run again\n",
                    with_accuracy_only - results.cells.size(), results_path.c_str());
      std::map<std::string, bool> have;
      for (const auto& c : results.cells) have[c.key] = true;
      for (int64_t i = 0; i < n_cells; ++i)
        if (have.count(cells[static_cast<size_t>(i)].meta.key)) done[i] = 1;
    } catch (const Error& e) {
      refused = e.what();
      done[n_cells] = 1;
    }
  }
  comm.broadcast(done, 0, "finetune cells done");
  if (done[n_cells].item<int>() != 0) throw Error(root ? refused : "rank 0 refused " + results_path);
  results.recipe = recipe;
  results.config_yaml = config_yaml;
  std::vector<size_t> pending;
  for (size_t i = 0; i < cells.size(); ++i)
    if (done[static_cast<int64_t>(i)].item<int>() == 0) pending.push_back(i);
  std::stable_sort(pending.begin(), pending.end(), [&](size_t a, size_t b) { return cells[a].cost > cells[b].cost; });
  double total_cost = 0;
  for (size_t i : pending) total_cost += cells[i].cost;

  const int world = comm.world();
  const size_t rounds = rounds_for(pending.size(), world);
  if (root) {
    std::printf("finetune: %zu cells (%zu tasks x %zu architectures x %zu initialisations x %zu learning rates x %lld "
                "seeds, and head choices on held-out tasks), %zu done, %zu to run on %d rank(s) in %zu rounds; %lld "
                "steps of %lld images each, %d thread(s) per rank -> %s\n",
                cells.size(), tasks.size(), archs.size(), f.inits.size(), rates.size(), static_cast<long long>(f.seeds),
                cells.size() - pending.size(), pending.size(), world, rounds, static_cast<long long>(f.steps),
                static_cast<long long>(f.batch), at::get_num_threads(), results_path.c_str());
    for (size_t t = 0; t < tasks.size(); ++t)
      std::printf("task  %-34s %-14s %6zu training, %5zu validation (held back), %5lld test examples\n",
                  tasks[t].def().name.c_str(), kinds[t].c_str(), splits[t].train.size(), splits[t].val.size(),
                  static_cast<long long>(tasks[t].size(Split::Test)));
    if (zoo)
      for (size_t a = 0; a < archs.size(); ++a)
        std::printf("arch  %-40s %s the training zoo (%s, %s)\n", archs[a].c_str(),
                    zoo_contains(zoo->rules_for(data_shape(tasks[0])), specs[0][a]) ? "inside" : "outside",
                    zoo->rules.c_str(), zoo->profile.c_str());
    std::printf("device  %s (%s)\n", device.device.str().c_str(), device.reason.c_str());
    std::fflush(stdout);
  }
  MetricsLog metrics;
  if (root) metrics = MetricsLog(o.run.dir + "/metrics.jsonl");
  std::map<std::string, bool> wanted;
  for (const auto& c : cells) wanted[c.meta.key] = true;

  const auto start = Clock::now();
  double cost_done = 0;
  size_t cells_done = cells.size() - pending.size();
  for (size_t round = 0; round < rounds; ++round) {
    const int64_t slot_of_mine = run_of(pending.size(), world, comm.rank(), round);
    const bool mine = slot_of_mine >= 0;
    const auto slot = static_cast<size_t>(std::max<int64_t>(0, slot_of_mine));
    RunOutcome run;
    double seconds = 0, init_ms = 0;
    BodyStats body;
    ParamMap params;
    int64_t index = -1;
    std::string failure;
    if (mine && !preemption_requested()) {
      index = static_cast<int64_t>(pending[slot]);
      const Cell& c = cells[pending[slot]];
      const auto t0 = Clock::now();
      const auto seed = static_cast<uint64_t>(o.run.seed * 1000003 + c.meta.seed);
      // A run that fails fails on this rank alone: it is said at the round's gather, so no rank waits forever.
      try {
        params = inits.make(c.meta.init, tasks[c.task], c.spec, seed, c.meta.head, f.noise_beta);
        init_ms = 1000 * std::chrono::duration<double>(Clock::now() - t0).count();
        body = body_statistics(param_table(c.spec), params);
        run = finetune_run(c.spec, params, tasks[c.task], splits[c.task], f, c.meta.lr, seed,
                           [] { return preemption_requested(); });
      } catch (const std::exception& e) {
        failure = strf("rank %d: run (%s, %s, %s, lr %g, seed %lld): %s", comm.rank(), c.meta.task.c_str(),
                       c.meta.arch.c_str(), c.meta.init.c_str(), c.meta.lr, static_cast<long long>(c.meta.seed),
                       e.what());
        std::fprintf(stderr, "tal: error: %s\n", failure.c_str());
        run = RunOutcome();
      }
      seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    }
    const auto all = comm.allgather(
        pack(index >= 0, run, index, seconds, init_ms, body, evals.size(), f.steps, !failure.empty()), "finetune results");
    for (int r = 0; r < world; ++r)
      if (all[r].data_ptr<double>()[10] != 0) {
        if (!failure.empty()) throw Error(failure);
        throw Error(strf("rank %d failed a fine-tuning run (its error is above); the results file keeps the runs "
                         "finished before this round",
                         r));
      }
    std::vector<at::Tensor> weights;
    if (!f.save_weights.empty()) {
      std::vector<at::Tensor> flat;
      if (run.completed)
        for (const auto& p : param_table(cells[static_cast<size_t>(index)].spec))
          flat.push_back(params.at(p.name).detach().flatten().to(at::kCPU));
      weights = gather_variable(comm, flat.empty() ? at::zeros({0}, at::kFloat) : at::cat(flat));
    }
    const bool stopping = comm.any(preemption_requested(), "finetune preemption");
    if (root) {
      std::vector<ArchiveModel> archived;
      for (int r = 0; r < world; ++r) {
        const auto* p = all[r].data_ptr<double>();
        if (p[0] == 0 || p[1] == 0) continue;
        const Cell& c = cells[static_cast<size_t>(p[2])];
        FinetuneCell out = c.meta;
        out.eval_steps = evals;
        const size_t e = evals.size();
        out.accuracy.assign(p + kHeader, p + kHeader + e);
        if (!tasks[c.task].def().pack) out.mcc.assign(p + kHeader + e, p + kHeader + 2 * e);
        out.loss.assign(p + kHeader + 2 * e, p + kHeader + 2 * e + f.steps);
        out.seconds = p[3];
        out.init_ms = p[4];
        out.val_accuracy = p[5];
        out.val_mcc = p[6];
        out.body_cosine = p[7];
        out.body_stable_rank = p[8];
        out.body_std = p[9];
        results.cells.push_back(out);
        cost_done += c.cost;
        ++cells_done;
        std::printf("finetune  %-26s %-34s %-16s %s lr %-7g seed %lld  zero-shot %5.1f%%  val %5.1f%%  final %5.1f%%%s  "
                    "(%.1f s)\n",
                    out.task.c_str(), out.arch_id.c_str(), out.init.c_str(),
                    out.head == "own" ? "         " : strf("%-9s", (out.head + "-head").c_str()).c_str(), out.lr,
                    static_cast<long long>(out.seed), 100 * out.zero_shot(), 100 * out.val_accuracy,
                    100 * out.final_accuracy(), out.metric == "mcc" ? strf("  MCC %.3f", out.final_mcc()).c_str() : "",
                    out.seconds);
        JsonLine line;
        line.add("stage", std::string("finetune"))
            .add("task", out.task)
            .add("arch", out.arch_id)
            .add("init", out.init)
            .add("lr", out.lr)
            .add("head", out.head)
            .add("seed", out.seed)
            .add("val_accuracy", out.val_accuracy)
            .add("zero_shot", out.zero_shot())
            .add("final_accuracy", out.final_accuracy());
        if (!out.mcc.empty()) line.add("final_mcc", out.final_mcc());
        metrics.write(line.add("seconds", out.seconds));
        if (!f.save_weights.empty()) {
          ArchiveModel m;
          m.task = out.task;
          // arch.init[.head-HEAD].lrRATE.seedN: dot-separated, the rate's dot written as 'p' (lr0p003).
          std::string rate = strf("%.10g", out.lr);
          std::replace(rate.begin(), rate.end(), '.', 'p');
          m.arch_id = out.arch_id + "." + out.init + (out.head == "own" ? "" : ".head-" + out.head) + ".lr" + rate +
                      ".seed" + std::to_string(out.seed);
          m.spec = c.spec;
          int64_t offset = 0;
          for (const auto& info : param_table(c.spec)) {
            const int64_t n = info.numel();
            m.params[info.name] = weights[static_cast<size_t>(r)].narrow(0, offset, n).view(info.shape).clone();
            offset += n;
          }
          m.task_def = tasks[c.task].def();
          m.classes = tasks[c.task].class_names();
          m.checkpoint_step = inits.info(out.init).source_step;
          m.checkpoint_hash = inits.info(out.init).source_hash;
          m.hypernet_variant = "finetuned:" + out.init;
          archived.push_back(std::move(m));
        }
      }
      results.inits = inits.infos();
      average_init_times(results);
      compute_steps_to(results);
      // The weights first: a run in the results file is never re-run, so its weights must already be saved.
      if (!archived.empty()) append_to_archive(f.save_weights, archived);
      write_finetune_results(results_path, results);
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      const double eta = cost_done > 0 ? elapsed / cost_done * (total_cost - cost_done) : 0;
      Progress()
          .add("finetune", "stage", std::string("finetune-progress"))
          .add(strf("cells %zu/%zu", cells_done, cells.size()), "cells_done", static_cast<int64_t>(cells_done))
          .add(strf("round %zu/%zu", round + 1, rounds), "round", static_cast<int64_t>(round + 1))
          .add(strf("elapsed %s", duration_text(elapsed).c_str()), "elapsed_s", elapsed)
          .show("ETA " + duration_text(eta))
          .emit(metrics);
    }
    if (stopping) {
      if (root)
        std::printf("finetune: preempted; %zu of %zu cells are in %s; run the same command again to finish\n",
                    cells_done, cells.size(), results_path.c_str());
      std::fflush(stdout);
      return kPreemptedExitCode;
    }
  }
  if (root) {
    if (pending.empty()) {
      results.inits = inits.infos();
      average_init_times(results);
      std::printf("finetune: every cell was already done (%s)\n", results_path.c_str());
    }
    print_grid_summary(results, f.inits, [&](const FinetuneCell& c) { return wanted.count(c.key) > 0; });
  }
  return 0;
}

}  // namespace tal
