#include "trainer/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/autograd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <future>
#include <map>
#include <set>

#include "datasets/task_sampler.h"
#include "datasets/tasks.h"
#include "hypernet/error.h"
#include "hypernet/hypernet.h"
#include "hypernet/zoo.h"
#include "trainer/ancestry.h"
#include "trainer/checkpoint.h"
#include "trainer/format.h"
#include "trainer/losses.h"
#include "trainer/metrics.h"
#include "trainer/optimizer.h"
#include "trainer/preemption.h"
#include "trainer/task_embeddings.h"
#include "trainer/work_plan.h"

namespace tal {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Streams of the counter-based generator; each names one kind of draw.
constexpr uint64_t kArchStream = 11, kEvalArchStream = 12, kClassRowStream = 13, kAugmentStream = 14,
                   kTaskStream = 15;

struct UnitPlan {
  ArchSpec spec;
  std::vector<int64_t> positions;  // task positions of the unit's images
  std::vector<uint64_t> augment;   // their augmentation seeds
  uint64_t class_row_seed = 0;
};

struct StepPlan {
  int64_t step = 0;
  bool pretrain = true;
  int64_t task = 0;  // index into Impl::tasks
  std::vector<UnitPlan> units;
};

struct Piece {
  WorkPiece work;
  Batch batch;
};

struct StepData {
  StepPlan plan;
  std::vector<Piece> pieces;
};

std::string eta_text(double seconds) {
  char buf[32];
  const int s = static_cast<int>(seconds);
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", s / 3600, (s / 60) % 60);
  else std::snprintf(buf, sizeof buf, "%dm%02ds", s / 60, s % 60);
  return buf;
}

}  // namespace

struct Trainer::Impl {
  TalOptions o;
  std::string config_yaml;
  Communicator& comm;
  uint64_t seed;
  int64_t pretrain_steps = 0, total_steps = 0;
  std::unique_ptr<Hypernet> net;
  std::vector<at::Tensor> params;
  NamedTensors named;
  std::unique_ptr<AdamW> optim;
  std::vector<at::Tensor> ema;
  TrainState state;
  // Task 0 is the stage-1 dataset (when stage 1 runs); the stage-2 training tasks follow; held-out tasks last.
  std::vector<Task> tasks;
  std::vector<int64_t> pretrain_tasks, multitask_tasks, heldout_tasks;
  std::vector<TaskStream> streams;
  std::unique_ptr<TaskSampler> pretrain_sampler, multitask_sampler;
  std::map<std::string, at::Tensor> embeddings;
  std::unique_ptr<AncestryModel> ancestry;
  MetricsLog metrics;
  StepTimings timings;
  std::future<StepData> next;
  int64_t next_step = -1;
  double last_loss = 0, last_grad_norm = 0;

  Impl(const TalOptions& opts, std::string yaml, Communicator& c) : o(opts), config_yaml(std::move(yaml)), comm(c) {
    seed = static_cast<uint64_t>(o.run.seed);
    const bool both = o.train.stage == "both";
    pretrain_steps = o.train.stage == "pretrain" ? o.train.steps : both ? o.train.pretrain_steps : 0;
    total_steps = pretrain_steps + (o.train.stage == "pretrain" ? 0 : o.train.steps);
    setup_tasks();
    setup_hypernet();
    if (comm.rank() == 0) metrics = MetricsLog((std::filesystem::path(o.run.dir) / "metrics.jsonl").string());
  }

  bool is_pretrain(int64_t step) const { return step < pretrain_steps; }

  // ---- set-up ------------------------------------------------------------------------------------------------

  void setup_tasks() {
    std::vector<TaskDef> defs;
    if (pretrain_steps > 0) {
      TaskDef d;
      d.name = std::filesystem::path(o.train.dataset).stem().string();
      d.dataset = o.train.dataset;
      d.transform = o.train.transform;
      d.flip = o.ancestry.flip;
      d.crop_padding = o.ancestry.crop_padding;
      defs.push_back(d);
      pretrain_tasks.push_back(0);
    }
    if (total_steps > pretrain_steps || o.hypernet.film()) {
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
          multitask_tasks.push_back(static_cast<int64_t>(defs.size()));
          defs.push_back(d);
        }
      for (const auto& d : suite)
        if (wanted(o.tasks.heldout, d, d.heldout) && !wanted(o.tasks.train, d, !d.heldout)) {
          heldout_tasks.push_back(static_cast<int64_t>(defs.size()));
          defs.push_back(d);
        }
      TAL_REQUIRE(!multitask_tasks.empty() || total_steps == pretrain_steps, o.tasks.suite,
                  ": no tasks to train on (all held out?)");
    }
    tasks = resolve_tasks(defs, o.data.root);
    for (size_t t = 0; t < tasks.size(); ++t) {
      const auto shape = tasks[t].image_shape();
      TAL_REQUIRE(shape[0] == o.zoo.channels && shape[1] == o.zoo.image, "task '", tasks[t].def().name, "' has ",
                  shape[0], "x", shape[1], "x", shape[2], " images but zoo.channels/zoo.image are ", o.zoo.channels,
                  "/", o.zoo.image);
      streams.emplace_back(tasks[t].size(Split::Train), seed, kTaskStream * 1000 + t);
    }
    auto sizes = [&](const std::vector<int64_t>& ids) {
      std::vector<int64_t> out;
      for (auto i : ids) out.push_back(tasks[static_cast<size_t>(i)].size(Split::Train));
      return out;
    };
    if (!pretrain_tasks.empty()) pretrain_sampler = std::make_unique<TaskSampler>(sizes(pretrain_tasks), 1.0, seed);
    if (!multitask_tasks.empty())
      multitask_sampler = std::make_unique<TaskSampler>(sizes(multitask_tasks), o.tasks.temperature, seed + 1);
    if (pretrain_steps > 0 && o.train.kd_weight > 0) {
      ancestry = std::make_unique<AncestryModel>(load_ancestry(o.ancestry.checkpoint));
      TAL_REQUIRE(ancestry->spec.classes == tasks[0].num_classes(), o.ancestry.checkpoint, ": the ancestry model has ",
                  ancestry->spec.classes, " classes, ", o.train.dataset, " has ", tasks[0].num_classes());
    }
    if (o.hypernet.film() && !multitask_tasks.empty()) {
      std::vector<Task> film_tasks;
      for (size_t t = pretrain_tasks.size(); t < tasks.size(); ++t) film_tasks.push_back(tasks[t]);
      embeddings = load_task_embeddings(o.tasks.embeddings, film_tasks, "");
      for (const auto& [name, e] : embeddings)
        TAL_REQUIRE(e.numel() == o.hypernet.task_dim, o.tasks.embeddings, ": task '", name, "' has a ", e.numel(),
                    "-d embedding but hypernet.task_dim is ", o.hypernet.task_dim);
    }
  }

  void setup_hypernet() {
    net = std::make_unique<Hypernet>(o.hypernet, seed);
    named = net->named_parameters();
    for (auto& [name, p] : named) params.push_back(p);
    // Every rank starts from rank 0's weights; a checksum proves it.
    auto flat = flatten(params, false);
    comm.broadcast(flat, 0, "initial hypernet parameters");
    unflatten_into(flat, params);
    const double sum = at::cat(to_double_views()).sum().item<double>();
    const auto sums = comm.allgather(at::tensor({sum}, at::kDouble), "parameter checksum");
    for (int r = 1; r < comm.world(); ++r)
      TAL_REQUIRE(sums[r][0].item<double>() == sums[0][0].item<double>(), "hypernet parameters differ on rank ", r,
                  " after the initial broadcast");
    reset_optimizer();
    if (o.train.ema > 0)
      for (const auto& p : params) ema.push_back(p.detach().clone());
  }

  std::vector<at::Tensor> to_double_views() const {
    std::vector<at::Tensor> out;
    for (const auto& p : params) out.push_back(p.detach().flatten().to(at::kDouble));
    return out;
  }

  void reset_optimizer() {
    optim = std::make_unique<AdamW>(params, AdamWConfig{0.9, 0.999, 1e-8, o.train.weight_decay});
  }

  static int64_t numel(const std::vector<at::Tensor>& ts) {
    int64_t n = 0;
    for (const auto& t : ts) n += t.numel();
    return n;
  }

  static at::Tensor flatten(const std::vector<at::Tensor>& ts, bool grads, int64_t extra = 0) {
    int64_t n = extra;
    for (const auto& t : ts) n += t.numel();
    auto flat = at::zeros({n}, at::kFloat);
    int64_t off = 0;
    for (const auto& t : ts) {
      const auto src = grads ? t.grad() : t.detach();
      if (src.defined()) flat.narrow(0, off, t.numel()).copy_(src.reshape({-1}));
      off += t.numel();
    }
    return flat;
  }

  static void unflatten_into(const at::Tensor& flat, std::vector<at::Tensor>& ts) {
    at::NoGradGuard guard;
    int64_t off = 0;
    for (auto& t : ts) {
      t.copy_(flat.narrow(0, off, t.numel()).view_as(t));
      off += t.numel();
    }
  }

  // ---- planning: the global meta-batch of a step, a pure function of (seed, step, sampler cursors) -------------

  ZooRules rules_for(const Task& task) const {
    ZooRules r = o.zoo.rules_for_task();
    r.classes = task.num_classes();
    return r;
  }

  StepPlan make_plan(int64_t step) {
    StepPlan p;
    p.step = step;
    p.pretrain = is_pretrain(step);
    const auto& ids = p.pretrain ? pretrain_tasks : multitask_tasks;
    auto& sampler = p.pretrain ? *pretrain_sampler : *multitask_sampler;
    const int64_t local = sampler.task_at(step);
    p.task = ids[static_cast<size_t>(local)];
    const int64_t m = o.train.meta_batch, b = o.train.batch;
    const int64_t first = sampler.claim(local, m * b);
    auto& stream = streams[static_cast<size_t>(p.task)];
    const auto rules = rules_for(tasks[static_cast<size_t>(p.task)]);
    for (int64_t u = 0; u < m; ++u) {
      UnitPlan unit;
      const auto global_unit = static_cast<uint64_t>(step * m + u);
      unit.spec = sample_arch(rules, mix_seed(seed, kArchStream, 0), global_unit);
      unit.class_row_seed = mix_seed(seed, kClassRowStream, global_unit);
      for (int64_t i = 0; i < b; ++i) {
        const int64_t pos = first + u * b + i;
        unit.positions.push_back(stream.at(pos));
        unit.augment.push_back(mix_seed(seed, kAugmentStream * 1000 + static_cast<uint64_t>(p.task), static_cast<uint64_t>(pos)));
      }
      p.units.push_back(std::move(unit));
    }
    return p;
  }

  std::vector<WorkPiece> my_pieces(const StepPlan& p) const {
    std::vector<int64_t> costs;
    for (const auto& u : p.units) costs.push_back(count_params(u.spec, true));
    return plan_work(costs, o.train.batch, comm.world())[static_cast<size_t>(comm.rank())];
  }

  StepData load(StepPlan plan) const {
    StepData d;
    const auto& task = tasks[static_cast<size_t>(plan.task)];
    for (const auto& w : my_pieces(plan)) {
      if (w.count == 0) continue;
      const auto& u = plan.units[static_cast<size_t>(w.unit)];
      const std::vector<int64_t> pos(u.positions.begin() + w.first, u.positions.begin() + w.first + w.count);
      const std::vector<uint64_t> aug(u.augment.begin() + w.first, u.augment.begin() + w.first + w.count);
      d.pieces.push_back({w, task.load(Split::Train, pos, &aug)});
    }
    d.plan = std::move(plan);
    return d;
  }

  std::vector<int64_t> sampler_cursors() const {
    std::vector<int64_t> cursors;
    if (pretrain_sampler) cursors = pretrain_sampler->cursors();
    if (multitask_sampler) {
      const auto& mc = multitask_sampler->cursors();
      cursors.insert(cursors.end(), mc.begin(), mc.end());
    }
    return cursors;
  }

  // Plans step s on this thread (the sampler is sequential state) and loads its images in the background.
  void prefetch(int64_t s) {
    if (s >= total_steps) return;
    cursors_before_next = sampler_cursors();
    auto plan = make_plan(s);
    next_step = s;
    next = std::async(std::launch::async, [this, plan = std::move(plan)]() mutable { return load(std::move(plan)); });
  }

  StepData take(int64_t s) {
    if (next_step != s || !next.valid()) {
      if (next.valid()) next.get();
      prefetch(s);
    }
    const auto t0 = Clock::now();
    StepData d = next.get();
    timings.data_wait += seconds_since(t0);
    return d;
  }

  at::Tensor task_embedding(int64_t task, bool pretrain) const {
    if (!o.hypernet.film()) return {};
    // Stage 1 of a TAL hypernet feeds a zero embedding: with FiLM maps starting at zero this is LoGAH training.
    if (pretrain) return at::zeros({o.hypernet.task_dim});
    return embeddings.at(tasks[static_cast<size_t>(task)].def().name);
  }

  // ---- one step ---------------------------------------------------------------------------------------------

  void train_step(int64_t step) {
    const auto t_step = Clock::now();
    if (pretrain_steps > 0 && step == pretrain_steps && state.optimizer_steps > 0) {
      // Stage 2 starts with fresh optimizer moments and its own schedule, as TAL's two-stage recipe does.
      reset_optimizer();
      state.optimizer_steps = 0;
    }
    auto t0 = Clock::now();
    StepData data = take(step);
    prefetch(step + 1);
    timings.plan += seconds_since(t0);
    const auto& plan = data.plan;
    const int64_t m = o.train.meta_batch, b = o.train.batch;

    // Graphs of the units this rank touches.
    t0 = Clock::now();
    std::vector<int64_t> units;
    for (const auto& piece : data.pieces)
      if (std::find(units.begin(), units.end(), piece.work.unit) == units.end()) units.push_back(piece.work.unit);
    std::vector<Graph> graphs;
    for (auto u : units) graphs.push_back(build_graph(plan.units[static_cast<size_t>(u)].spec));
    timings.graphs += seconds_since(t0);

    // Each unit is predicted on its own (no padding against other graphs) and its gradient is accumulated in
    // double precision, unit by unit: a unit's gradient is then the same bits whatever the rank layout, and sums
    // over units and ranks are exact to float precision. That is what makes N ranks train the same hypernet as one.
    const int64_t n = static_cast<int64_t>(Impl::numel(params));
    auto flat = at::zeros({n + 4}, at::kDouble);
    double local_loss = 0;
    int64_t images = 0;
    const auto task_e = task_embedding(plan.task, plan.pretrain);
    for (size_t k = 0; k < units.size(); ++k) {
      const auto& unit = plan.units[static_cast<size_t>(units[k])];
      for (auto& p : params) p.mutable_grad() = at::Tensor();
      t0 = Clock::now();
      PredictOptions popts;
      popts.class_row_seeds = {unit.class_row_seed};
      const auto pred = net->predict({&graphs[k]}, task_e, popts)[0];
      timings.hypernet_forward += seconds_since(t0);

      t0 = Clock::now();
      at::Tensor total;
      for (const auto& piece : data.pieces) {
        if (piece.work.unit != units[k]) continue;
        const auto logits = vit_forward(unit.spec, pred, piece.batch.images);
        auto per_image = per_image_cross_entropy(logits, piece.batch.labels, o.train.label_smoothing);
        if (plan.pretrain && ancestry) {
          at::Tensor teacher;
          {
            at::NoGradGuard guard;
            teacher = vit_forward(ancestry->spec, ancestry->params, piece.batch.images);
          }
          per_image = (1 - o.train.kd_weight) * per_image +
                      o.train.kd_weight * per_image_distillation(logits, teacher, o.train.kd_temperature);
        }
        // The loss is the mean over units of the mean over their images; a piece of n images carries n/b of its
        // unit's regulariser, so the ranks' sums add up to the single-process loss.
        auto piece_loss = per_image.sum() / static_cast<double>(m * b);
        if (o.train.reg_weight > 0)
          piece_loss = piece_loss + predicted_norm_sum(pred) * (o.train.reg_weight * static_cast<double>(piece.work.count) /
                                                                static_cast<double>(m * b));
        total = total.defined() ? total + piece_loss : piece_loss;
        images += piece.work.count;
      }
      timings.target_forward += seconds_since(t0);

      // Backward in two phases, target net then hypernet, so each can be timed.
      t0 = Clock::now();
      std::vector<at::Tensor> predicted;
      for (const auto& [name, t] : pred) predicted.push_back(t);
      const auto grads = torch::autograd::grad({total}, predicted, {}, false, false, /*allow_unused=*/true);
      timings.target_backward += seconds_since(t0);
      t0 = Clock::now();
      std::vector<at::Tensor> outs, gs;
      for (size_t i = 0; i < predicted.size(); ++i)
        if (grads[i].defined()) {
          outs.push_back(predicted[i]);
          gs.push_back(grads[i]);
        }
      torch::autograd::backward(outs, gs);
      int64_t off = 0;
      for (const auto& p : params) {
        if (p.grad().defined()) flat.narrow(0, off, p.numel()).add_(p.grad().reshape({-1}).to(at::kDouble));
        off += p.numel();
      }
      timings.hypernet_backward += seconds_since(t0);
      local_loss += total.item<double>();
    }

    // One flat buffer: every hypernet gradient (zeros where this rank's units did not reach a parameter), then
    // the loss, a non-finite flag, and counts for the progress line.
    t0 = Clock::now();
    if (poisoned(step)) local_loss = std::nan("");
    const bool finite = std::isfinite(local_loss) && flat.narrow(0, 0, n).isfinite().all().item<bool>();
    flat[n] = finite ? local_loss : 0.0;
    flat[n + 1] = finite ? 0.0 : 1.0;
    flat[n + 2] = static_cast<double>(images);
    flat[n + 3] = static_cast<double>(units.size());
    comm.allreduce_sum(flat, "hypernet gradients");
    timings.allreduce += seconds_since(t0);

    t0 = Clock::now();
    const bool skip = flat[n + 1].item<double>() > 0;
    last_loss = flat[n].item<double>();
    if (skip) {
      ++state.bad_steps;
      ++state.skipped_steps;
      if (comm.rank() == 0)
        std::fprintf(stderr, "tal: warning: step %lld: non-finite loss or gradients on %d rank(s); step skipped (%lld in a row)\n",
                     static_cast<long long>(step + 1), static_cast<int>(flat[n + 1].item<double>()),
                     static_cast<long long>(state.bad_steps));
      TAL_REQUIRE(state.bad_steps < o.train.max_bad_steps, "aborting: ", state.bad_steps,
                  " consecutive steps with non-finite loss or gradients (train.max_bad_steps=", o.train.max_bad_steps,
                  "; HINT: lower train.lr or raise train.clip)");
      for (auto& p : params) p.mutable_grad() = at::Tensor();
    } else {
      state.bad_steps = 0;
      const auto grads = flat.narrow(0, 0, n).to(at::kFloat);
      int64_t off = 0;
      for (auto& p : params) {
        p.mutable_grad() = grads.narrow(0, off, p.numel()).view_as(p);
        off += p.numel();
      }
      last_grad_norm = clip_grad_norm(params, o.train.clip);
      const int64_t stage_start = plan.pretrain ? 0 : pretrain_steps;
      const int64_t stage_len = plan.pretrain ? pretrain_steps : total_steps - pretrain_steps;
      optim->set_steps(state.optimizer_steps);
      optim->step(cosine_lr(o.train.lr, step - stage_start, o.train.warmup, stage_len));
      state.optimizer_steps = optim->steps();
      if (!ema.empty()) {
        at::NoGradGuard guard;
        for (size_t i = 0; i < params.size(); ++i) ema[i].mul_(o.train.ema).add_(params[i].detach(), 1 - o.train.ema);
      }
    }
    timings.optimizer += seconds_since(t0);
    state.step = step + 1;
    timings.total += seconds_since(t_step);
    timings.steps += 1;
    timings.images += static_cast<int64_t>(flat[n + 2].item<double>());
    timings.archs += m;
  }

  // ---- evaluation of held-out architectures -------------------------------------------------------------------

  void evaluate(int64_t step) {
    if (o.train.eval_archs == 0) return;
    at::NoGradGuard guard;
    std::vector<int64_t> eval_tasks = is_pretrain(step - 1) ? pretrain_tasks : multitask_tasks;
    if (!is_pretrain(step - 1)) eval_tasks.insert(eval_tasks.end(), heldout_tasks.begin(), heldout_tasks.end());
    for (auto t : eval_tasks) {
      const auto& task = tasks[static_cast<size_t>(t)];
      const auto rules = rules_for(task);
      const int64_t n = std::min(o.train.eval_images, task.size(Split::Test));
      std::vector<int64_t> all(static_cast<size_t>(n));
      std::iota(all.begin(), all.end(), 0);
      const auto mine = shard(all, comm.rank(), comm.world());
      const auto batch = task.load(Split::Test, mine);
      std::vector<double> acc;
      for (int64_t a = 0; a < o.train.eval_archs; ++a) {
        const auto spec = sample_arch(rules, mix_seed(seed, kEvalArchStream, 0), static_cast<uint64_t>(a));
        const Graph g = build_graph(spec);
        PredictOptions popts;
        popts.class_row_seeds = {mix_seed(seed, kClassRowStream, 1ull << 40 | static_cast<uint64_t>(a))};
        const bool heldout = std::find(heldout_tasks.begin(), heldout_tasks.end(), t) != heldout_tasks.end();
        at::Tensor e = task_embedding(t, is_pretrain(step - 1));
        if (heldout && o.hypernet.film()) e = embeddings.at(task.def().name);
        const auto params_pred = net->predict({&g}, e, popts)[0];
        auto counts = at::zeros({2}, at::kDouble);
        if (!mine.empty()) {
          counts[0] = vit_forward(spec, params_pred, batch.images).argmax(1).eq(batch.labels).sum().item<double>();
          counts[1] = static_cast<double>(mine.size());
        }
        comm.allreduce_sum(counts, "evaluation counts");
        acc.push_back(counts[0].item<double>() / std::max(1.0, counts[1].item<double>()));
      }
      double mean = 0;
      for (auto x : acc) mean += x / static_cast<double>(acc.size());
      if (comm.rank() == 0) {
        std::string list;
        for (auto x : acc) {
          char buf[16];
          std::snprintf(buf, sizeof buf, " %.1f", 100 * x);
          list += buf;
        }
        const bool heldout = std::find(heldout_tasks.begin(), heldout_tasks.end(), t) != heldout_tasks.end();
        std::printf("eval  step %lld  task %s%s  accuracy of %lld held-out ViTs, as predicted (%%):%s  mean %.2f\n",
                    static_cast<long long>(step), task.def().name.c_str(), heldout ? " (held-out task)" : "",
                    static_cast<long long>(o.train.eval_archs), list.c_str(), 100 * mean);
        std::fflush(stdout);
        metrics.write(JsonLine()
                          .add("step", step)
                          .add("eval_task", task.def().name)
                          .add("heldout_task", static_cast<int64_t>(heldout))
                          .add("eval_accuracy", mean));
      }
    }
  }

  // ---- checkpoints ------------------------------------------------------------------------------------------

  Checkpoint snapshot() {
    Checkpoint c;
    c.state = state;
    // The next step may already be planned (its images prefetched): record the cursors from before its claim.
    c.state.cursors = (next.valid() && next_step == state.step) ? cursors_before_next : sampler_cursors();
    for (size_t i = 0; i < named.size(); ++i) {
      c.hypernet.emplace_back(named[i].first, params[i].detach().clone());
      c.exp_avg.emplace_back(named[i].first, optim->exp_avg()[i].clone());
      c.exp_avg_sq.emplace_back(named[i].first, optim->exp_avg_sq()[i].clone());
      if (!ema.empty()) c.ema.emplace_back(named[i].first, ema[i].clone());
    }
    c.config_yaml = config_yaml;
    c.hypernet_variant = o.hypernet.variant;
    c.hypernet_describe = o.hypernet.describe();
    c.world = comm.world();
    c.git_revision = git_revision();
    return c;
  }

  void save_checkpoint() {
    auto c = snapshot();
    // Every rank's generator state, gathered to rank 0.
    const auto state_bytes = at::detail::getDefaultCPUGenerator().get_state();
    const auto all = comm.allgather(state_bytes, "generator states");
    for (int r = 0; r < comm.world(); ++r) c.rng.push_back(all[r].clone());
    if (comm.rank() == 0) {
      const auto t0 = Clock::now();
      const auto path = write_checkpoint(o.run.dir, c, o.checkpoint.keep, o.checkpoint.keep_every);
      std::printf("checkpoint  step %lld -> %s (%s, %.0f ms)\n", static_cast<long long>(state.step), path.c_str(),
                  mib(static_cast<int64_t>(std::filesystem::file_size(path))).c_str(), 1000 * seconds_since(t0));
      std::fflush(stdout);
    }
    comm.barrier("checkpoint written");
  }

  void restore(const std::string& path, const Checkpoint& c) {
    check_compatible(path, c, named);
    auto get = [](const NamedTensors& ts, size_t i) { return ts[i].second; };
    at::NoGradGuard guard;
    for (size_t i = 0; i < params.size(); ++i) {
      params[i].copy_(get(c.hypernet, i));
      optim->exp_avg()[i].copy_(get(c.exp_avg, i));
      optim->exp_avg_sq()[i].copy_(get(c.exp_avg_sq, i));
      if (!ema.empty() && !c.ema.empty()) ema[i].copy_(get(c.ema, i));
    }
    state = c.state;
    size_t off = 0;
    if (pretrain_sampler) {
      const auto n = pretrain_sampler->cursors().size();
      pretrain_sampler->restore(std::vector<int64_t>(c.state.cursors.begin(), c.state.cursors.begin() + static_cast<int64_t>(n)));
      off = n;
    }
    if (multitask_sampler)
      multitask_sampler->restore(std::vector<int64_t>(c.state.cursors.begin() + static_cast<int64_t>(off), c.state.cursors.end()));
    if (c.world == comm.world() && static_cast<int>(c.rng.size()) > comm.rank())
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      gen.set_state(c.rng[static_cast<size_t>(comm.rank())]);
    }
    if (comm.rank() == 0) {
      std::printf("resume  from %s at step %lld", path.c_str(), static_cast<long long>(state.step));
      if (c.world != comm.world())
        std::printf(" (written by %lld rank(s), continuing on %d: same global meta-batches, gradients equal to float "
                    "tolerance)",
                    static_cast<long long>(c.world), comm.world());
      std::printf("\n");
      std::fflush(stdout);
    }
  }

  void init_from(const std::string& path) {
    const auto c = read_checkpoint(path);
    at::NoGradGuard guard;
    int64_t loaded = 0, kept = 0;
    for (size_t i = 0; i < named.size(); ++i) {
      auto it = std::find_if(c.hypernet.begin(), c.hypernet.end(), [&](const auto& p) { return p.first == named[i].first; });
      if (it != c.hypernet.end() && it->second.sizes() == params[i].sizes()) {
        params[i].copy_(it->second);
        ++loaded;
      } else {
        ++kept;
      }
    }
    TAL_REQUIRE(loaded > 0, path, ": no hypernet parameter matches (made by ", c.hypernet_describe, ")");
    if (comm.rank() == 0)
      std::printf("init  %lld hypernet tensors from %s (step %lld); %lld kept as initialised (e.g. the task FiLM)\n",
                  static_cast<long long>(loaded), path.c_str(), static_cast<long long>(c.state.step),
                  static_cast<long long>(kept));
  }

  // ---- progress ---------------------------------------------------------------------------------------------

  void log_progress(int64_t step, double step_seconds, double elapsed, int64_t done_here, int64_t images, int64_t archs) {
    if (comm.rank() != 0) return;
    const bool pre = is_pretrain(step - 1);
    const int64_t stage_start = pre ? 0 : pretrain_steps, stage_len = pre ? pretrain_steps : total_steps - pretrain_steps;
    const double lr = cosine_lr(o.train.lr, step - 1 - stage_start, o.train.warmup, stage_len);
    const std::string task = tasks[static_cast<size_t>(last_task)].def().name;
    const double eta = elapsed / static_cast<double>(std::max<int64_t>(1, done_here)) *
                       static_cast<double>(total_steps - step);
    std::printf("step %lld/%lld  %s  task %s  loss %.4f  lr %.2e  |g| %.3f  step %.2f s  %.0f img/s  %.2f arch/s  ETA %s\n",
                static_cast<long long>(step), static_cast<long long>(total_steps), pre ? "pretrain" : "multitask",
                task.c_str(), last_loss, lr, last_grad_norm, step_seconds, static_cast<double>(images) / step_seconds,
                static_cast<double>(archs) / step_seconds, eta_text(eta).c_str());
    std::fflush(stdout);
    metrics.write(JsonLine()
                      .add("step", step)
                      .add("stage", std::string(pre ? "pretrain" : "multitask"))
                      .add("task", task)
                      .add("loss", last_loss)
                      .add("lr", lr)
                      .add("grad_norm", last_grad_norm)
                      .add("step_s", step_seconds)
                      .add("images_per_s", static_cast<double>(images) / step_seconds)
                      .add("archs_per_s", static_cast<double>(archs) / step_seconds)
                      .add("skipped_steps", state.skipped_steps)
                      .add("eta_s", eta));
  }
  int64_t last_task = 0;
  std::vector<int64_t> cursors_before_next;

  // Test hook: TAL_TEST_NAN_STEPS="rank:step,rank:step" makes that rank's loss non-finite at those (1-based) steps,
  // to exercise the skip-by-consensus path end to end.
  bool poisoned(int64_t step) const {
    static const std::string spec = std::getenv("TAL_TEST_NAN_STEPS") ? std::getenv("TAL_TEST_NAN_STEPS") : "";
    if (spec.empty()) return false;
    const std::string me = std::to_string(comm.rank()) + ":" + std::to_string(step + 1);
    return ("," + spec + ",").find("," + me + ",") != std::string::npos;
  }
};

Trainer::Trainer(const TalOptions& options, std::string config_yaml, Communicator& comm, const ResumeRequest& resume)
    : impl_(std::make_unique<Impl>(options, std::move(config_yaml), comm)) {
  auto& m = *impl_;
  std::string path;
  if (!resume.from.empty()) {
    path = std::filesystem::is_directory(resume.from) ? latest_checkpoint(resume.from) : resume.from;
    TAL_REQUIRE(!path.empty(), resume.from, ": no checkpoint to resume from");
  } else {
    path = latest_checkpoint(options.run.dir);
    if (!path.empty() && !resume.allowed) {
      throw Error(options.run.dir + " already holds checkpoint " + path +
                  "; --no-resume refuses to continue it (HINT: choose another run.dir, or drop --no-resume)");
    }
  }
  if (!path.empty()) {
    const auto t0 = Clock::now();
    const auto ckpt = read_checkpoint(path);
    if (comm.rank() == 0) std::printf("checkpoint  read %s in %.0f ms\n", path.c_str(), 1000 * seconds_since(t0));
    m.restore(path, ckpt);
  } else if (!options.train.init.empty()) {
    m.init_from(options.train.init);
  }
}

Trainer::~Trainer() {
  if (impl_ && impl_->next.valid()) impl_->next.wait();
}

int Trainer::run() {
  auto& m = *impl_;
  install_preemption_handlers();
  if (m.comm.rank() == 0) {
    std::printf("train  %s, %s, %lld steps (%lld pretrain), meta-batch %lld x %lld images, %d rank(s) [%s], "
                "%s hypernet parameters\n",
                m.o.hypernet.describe().c_str(), m.o.train.stage.c_str(), static_cast<long long>(m.total_steps),
                static_cast<long long>(m.pretrain_steps), static_cast<long long>(m.o.train.meta_batch),
                static_cast<long long>(m.o.train.batch), m.comm.world(), m.comm.backend().c_str(),
                with_commas(static_cast<int64_t>(Impl::flatten(m.params, false).numel())).c_str());
    std::fflush(stdout);
  }
  const auto start = Clock::now();
  const int64_t first = m.state.step;
  while (m.state.step < m.total_steps) {
    const int64_t step = m.state.step;
    const auto t0 = Clock::now();
    const int64_t images0 = m.timings.images, archs0 = m.timings.archs;
    m.last_task = 0;
    m.train_step(step);
    // (the task of the step just taken, for the progress line)
    {
      const bool pre = m.is_pretrain(step);
      const auto& ids = pre ? m.pretrain_tasks : m.multitask_tasks;
      m.last_task = ids[static_cast<size_t>((pre ? *m.pretrain_sampler : *m.multitask_sampler).task_at(step))];
    }
    const double secs = seconds_since(t0);
    if ((step + 1) % m.o.train.log_every == 0 || step + 1 == m.total_steps)
      m.log_progress(step + 1, secs, seconds_since(start), step + 1 - first, m.timings.images - images0,
                     m.timings.archs - archs0);
    const bool stage_end = step + 1 == m.pretrain_steps || step + 1 == m.total_steps;
    if ((m.o.train.eval_every > 0 && (step + 1) % m.o.train.eval_every == 0) || stage_end) m.evaluate(step + 1);
    // Step boundary: every rank learns whether any was asked to stop.
    const bool stop = m.comm.any(preemption_requested(), "preemption consensus");
    if (stop || (m.o.checkpoint.every > 0 && (step + 1) % m.o.checkpoint.every == 0) || step + 1 == m.total_steps)
      m.save_checkpoint();
    if (!stop && m.o.train.until_step > 0 && step + 1 >= m.o.train.until_step && step + 1 < m.total_steps) {
      if (!(m.o.checkpoint.every > 0 && (step + 1) % m.o.checkpoint.every == 0)) m.save_checkpoint();
      if (m.comm.rank() == 0)
        std::printf("stopped  after step %lld (train.until_step); run again to continue\n", static_cast<long long>(step + 1));
      return 0;
    }
    if (stop) {
      if (m.comm.rank() == 0)
        std::printf("preempted  at step %lld: checkpoint written; exiting with code %d (requeue to continue)\n",
                    static_cast<long long>(step + 1), kPreemptedExitCode);
      return kPreemptedExitCode;
    }
  }
  if (m.comm.rank() == 0) {
    std::printf("train  done: %lld steps in %s, %lld skipped\n", static_cast<long long>(m.total_steps - first),
                eta_text(seconds_since(start)).c_str(), static_cast<long long>(m.state.skipped_steps));
    std::fflush(stdout);
  }
  return 0;
}

void Trainer::run_steps(int64_t n) {
  for (int64_t i = 0; i < n && impl_->state.step < impl_->total_steps; ++i) impl_->train_step(impl_->state.step);
}

const StepTimings& Trainer::timings() const { return impl_->timings; }
void Trainer::reset_timings() { impl_->timings = StepTimings(); }
int64_t Trainer::step() const { return impl_->state.step; }

std::vector<std::pair<std::string, at::Tensor>> Trainer::hypernet_parameters() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (size_t i = 0; i < impl_->named.size(); ++i) out.emplace_back(impl_->named[i].first, impl_->params[i].detach());
  return out;
}

}  // namespace tal
