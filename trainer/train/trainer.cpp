#include "trainer/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "base/error.h"
#include "base/rng.h"
#include "dist/device.h"
#include "datasets/atomic_file.h"
#include "hypernet/hypernet.h"
#include "trainer/files/build_info.h"
#include "trainer/files/checkpoint.h"
#include "trainer/train/heldout_eval.h"
#include "trainer/train/format.h"
#include "trainer/train/metrics.h"
#include "trainer/train/preemption.h"
#include "trainer/train/model_state.h"
#include "trainer/train/progress.h"
#include "trainer/train/resources.h"
#include "trainer/train/run_device.h"
#include "trainer/train/run_loop.h"
#include "trainer/train/optimizer.h"
#include "trainer/train/out_of_memory.h"
#include "trainer/train/step_plan.h"
#include "trainer/train/trained_hypernet.h"
#include "trainer/train/training_data.h"
#include "trainer/train/step_gradient.h"
#include "trainer/train/update.h"

namespace tal {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct StepData {
  StepPlan plan;
  WorkPlan work;
  std::vector<UnitBatch> pieces;  // this rank's
};

}  // namespace

struct Trainer::Impl {
  TalOptions o;
  std::string config_yaml;
  Communicator& comm;
  RunDevice device;
  bool bf16 = false;  // train.autocast resolved for this device
  uint64_t seed;
  int64_t pretrain_steps = 0, total_steps = 0;
  TrainingData data;
  std::unique_ptr<StepPlanner> planner;
  std::unique_ptr<Hypernet> net;
  std::unique_ptr<ModelState> model;
  TrainState state;
  std::vector<int64_t> cursors;  // after every step planned so far
  MetricsLog metrics;
  StepTimings timings;
  std::future<StepData> next;
  int64_t next_step = -1;
  std::vector<int64_t> cursors_before_next;
  double last_loss = 0, last_grad_norm = 0, last_wait = 0;
  std::set<std::pair<int64_t, int64_t>> nan_steps, oom_steps;
  std::unique_ptr<GradientBuffer> buffer;  // one for the run: allocated before the first step, reused by every step

  Impl(const TalOptions& opts, std::string yaml, Communicator& c) : o(opts), config_yaml(std::move(yaml)), comm(c) {
    seed = static_cast<uint64_t>(o.run.seed);
    const bool both = o.train.stage == "both";
    pretrain_steps = o.train.stage == "pretrain" ? o.train.steps : both ? o.train.pretrain_steps : 0;
    total_steps = pretrain_steps + (o.train.stage == "pretrain" ? 0 : o.train.steps);
    nan_steps = o.debug.nan_step_set();
    oom_steps = o.debug.oom_step_set();
    o.check_memory(true);
    device = run_device(o.device, comm.backend(), comm.world());
    // Rank 0 decides for all: ranks on hosts with other processors must still do the same arithmetic.
    auto use_bf16 = at::full({1}, o.train.autocast == "bf16" ||
                                      (o.train.autocast == "auto" && (device.device.is_cuda() || !cpu_bf16_flags().empty())),
                             at::kInt);
    comm.broadcast(use_bf16, 0, "autocast choice");
    bf16 = use_bf16.item<int>() != 0;
    data = load_training_data(o, pretrain_steps > 0, total_steps > pretrain_steps);
    if (data.teacher)
      for (auto& [name, t] : data.teacher->params) t = t.to(device.device);
    for (auto& [name, e] : data.embeddings) e = e.to(device.device);
    planner = std::make_unique<StepPlanner>(planner_config());
    cursors = planner->initial_cursors();
    net = std::make_unique<Hypernet>(o.hypernet, seed);
    net->to(device.device);
    attach_ancestry(*net, o.zoo.family, o.ancestry.checkpoint, "", "key 'hypernet.base'");
    model = std::make_unique<ModelState>(net->named_parameters(), o.train.weight_decay, o.train.ema > 0);
    model->broadcast_from_rank0(comm);  // every rank starts from rank 0's weights
    buffer = std::make_unique<GradientBuffer>(model->numel(), device.device);
  }

  PlannerConfig planner_config() const {
    PlannerConfig pc;
    pc.seed = seed;
    pc.meta_batch = o.train.meta_batch;
    pc.batch = o.train.batch;
    pc.pretrain_steps = pretrain_steps;
    pc.pretrain_tasks = data.pretrain_tasks;
    pc.multitask_tasks = data.multitask_tasks;
    pc.temperature = o.tasks.temperature;
    pc.chunk_images = o.train.chunk_images;
    pc.hypernet = o.hypernet;
    for (const auto& t : data.tasks) pc.tasks.push_back({t.size(Split::Train), rules_for(t)});
    return pc;
  }

  ZooRules rules_for(const Task& task) const { return o.zoo.rules_for(data_shape(task)); }
  bool is_pretrain(int64_t step) const { return step < pretrain_steps; }

  // ---- data: plans step s on this thread (cursors are sequential state), loads its images in the background ----

  StepData load(StepPlan plan) const {
    StepData d;
    d.work = plan.work(comm.world());
    const auto& task = data.tasks[static_cast<size_t>(plan.task)];
    for (const auto& w : d.work.ranks[static_cast<size_t>(comm.rank())]) {
      if (w.count == 0) continue;
      const auto& u = plan.units[static_cast<size_t>(w.unit)];
      const std::vector<int64_t> pos(u.positions.begin() + w.first, u.positions.begin() + w.first + w.count);
      const std::vector<uint64_t> aug(u.augment.begin() + w.first, u.augment.begin() + w.first + w.count);
      Batch b = task.load(Split::Train, pos, &aug);
      b.inputs = to_device(b.inputs, device.device);
      b.labels = to_device(b.labels, device.device);
      d.pieces.push_back({w, std::move(b)});
    }
    d.plan = std::move(plan);
    return d;
  }

  void prefetch(int64_t s) {
    if (s >= total_steps) return;
    cursors_before_next = cursors;
    auto plan = planner->plan(s, cursors);
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
    if (pretrain) return at::zeros({o.hypernet.task_dim}, at::TensorOptions().device(device.device));
    return data.embeddings.at(data.tasks[static_cast<size_t>(task)].def().name);
  }

  // ---- one step ---------------------------------------------------------------------------------------------

  void train_step(int64_t step) {
    const auto t_step = Clock::now();
    const double wait0 = timings.waiting();
    if (pretrain_steps > 0 && step == pretrain_steps && state.optimizer_steps > 0) {
      // Stage 2 starts with fresh optimizer moments and its own schedule, as TAL's two-stage recipe does.
      model->reset_optimizer(o.train.weight_decay);
      state.optimizer_steps = 0;
    }
    auto t0 = Clock::now();
    StepData d = take(step);
    prefetch(step + 1);
    timings.plan += seconds_since(t0);
    const auto& plan = d.plan;
    const int64_t m = o.train.meta_batch;

    // This rank's units (chunks of them, when shared) into one double buffer: each chunk's gradient is the same
    // bits whatever the rank layout, and sums over chunks, units and ranks are exact to float precision.
    buffer->zero();
    auto grads = buffer->grads();
    const LossWeights weights{o.train.label_smoothing, plan.pretrain ? o.train.kd_weight : 0.0,
                              o.train.kd_temperature, o.train.reg_weight, bf16};
    const StepFaults faults{oom_steps.count({comm.rank(), step + 1}) > 0};
    const auto mine = step_gradient(*net, model->params, plan, d.work, d.pieces, task_embedding(plan.task, plan.pretrain),
                                    plan.pretrain ? data.teacher.get() : nullptr, weights, comm, grads, timings, faults);
    double local_loss = mine.loss;

    // One flat buffer: gradients, then the loss, a non-finite flag, counts for the progress line and an
    // out-of-memory flag. The step is skipped on every rank when any rank's was bad.
    t0 = Clock::now();
    if (nan_steps.count({comm.rank(), step + 1})) local_loss = std::nan("");
    // The totals' own check allocates a flag per parameter: guarded too (flagging needs no allocation).
    std::string out_of_memory = mine.out_of_memory;
    if (out_of_memory.empty())
      out_of_memory = run_unless_out_of_memory([&] { buffer->set_totals(local_loss, mine.images, mine.units); });
    if (!out_of_memory.empty()) buffer->set_totals(0, mine.images, mine.units, true);
    comm.allreduce_sum(buffer->flat, "hypernet gradients");
    timings.allreduce += seconds_since(t0);

    t0 = Clock::now();
    last_loss = buffer->loss();
    if (buffer->bad_ranks() > 0 || buffer->out_of_memory_ranks() > 0) {
      SkippedStep why{buffer->bad_ranks(), buffer->out_of_memory_ranks(), ""};
      if (why.out_of_memory_ranks > 0) why.out_of_memory = out_of_memory_report(out_of_memory);
      skip_step(state, step, why, o.train.max_bad_steps, comm.rank() == 0);
      for (auto& p : model->params) p.mutable_grad() = at::Tensor();
    } else {
      state.bad_steps = 0;
      set_gradients(buffer->grads(), model->params);
      model->optim->set_steps(state.optimizer_steps);
      last_grad_norm = apply_update(model->params, *model->optim, learning_rate(step), o.train.clip, o.train.ema,
                                    model->ema);
      state.optimizer_steps = model->optim->steps();
    }
    timings.optimizer += seconds_since(t0);
    state.step = step + 1;
    last_wait = timings.waiting() - wait0;
    timings.total += seconds_since(t_step);
    timings.steps += 1;
    timings.images += buffer->images();
    timings.archs += m;
    std::vector<UnitCost> costs;
    for (const auto& u : plan.units) costs.push_back(u.cost);
    timings.balance += d.work.balance();
    timings.duplicated += d.work.duplicated_predict(costs);
    for (int64_t u = 0; u < m; ++u) timings.shared_units += d.work.split(u);
  }

  // Which ranks ran out of memory in this step and what each had (its resident memory and the allocator's
  // message), gathered from every rank: every rank calls this once the reduce said some rank ran out.
  std::string out_of_memory_report(const std::string& mine) const {
    auto figures = at::tensor({mine.empty() ? 0.0 : 1.0, static_cast<double>(current_rss_bytes())}, at::kDouble);
    auto text = at::zeros({kReportChars}, at::kByte);
    std::memcpy(text.data_ptr(), mine.data(), std::min<size_t>(mine.size(), kReportChars - 1));
    const auto all = comm.allgather(figures, "out-of-memory report");
    const auto texts = comm.allgather(text, "out-of-memory messages");
    std::string out;
    for (int r = 0; r < comm.world(); ++r) {
      if (all[r][0].item<double>() == 0) continue;
      const auto* chars = reinterpret_cast<const char*>(texts[r].data_ptr());
      out += (out.empty() ? "" : "; ") + strf("rank %d (%s resident: %s)", r,
                                             mib(static_cast<int64_t>(all[r][1].item<double>())).c_str(), chars);
    }
    return out;
  }
  static constexpr int64_t kReportChars = 256;

  // Each stage has its own warm-up and cosine decay.
  double learning_rate(int64_t step) const {
    const bool pre = is_pretrain(step);
    const int64_t stage_start = pre ? 0 : pretrain_steps, stage_len = pre ? pretrain_steps : total_steps - pretrain_steps;
    return cosine_lr(o.train.lr, step - stage_start, o.train.warmup, stage_len);
  }

  // ---- evaluation of held-out architectures -------------------------------------------------------------------

  void evaluate(int64_t step) {
    const bool pre = is_pretrain(step - 1);
    std::vector<int64_t> tasks = pre ? data.pretrain_tasks : data.multitask_tasks;
    if (!pre) tasks.insert(tasks.end(), data.heldout_tasks.begin(), data.heldout_tasks.end());
    const HeldOutEvaluation config{seed, o.train.eval_archs, o.train.eval_images, o.zoo};
    evaluate_held_out(*net, data, tasks, step, config, [&](int64_t t) { return task_embedding(t, pre); }, comm, metrics);
  }

  // ---- checkpoints ------------------------------------------------------------------------------------------

  void save_checkpoint() {
    Checkpoint c;
    c.state = state;
    // The next step may already be planned (its images prefetched): record the cursors from before its plan.
    c.state.cursors = (next.valid() && next_step == state.step) ? cursors_before_next : cursors;
    model->capture(c);
    c.config_yaml = config_yaml;
    c.hypernet_variant = o.hypernet.variant;
    c.hypernet_describe = o.hypernet.describe();
    c.base_hash = net->base_hash();
    c.world = comm.world();
    c.git_revision = git_revision();
    // Every rank's generator state, gathered to rank 0.
    const auto all = comm.allgather(at::detail::getDefaultCPUGenerator().get_state(), "generator states");
    for (int r = 0; r < comm.world(); ++r) c.rng.push_back(all[r].clone());
    if (comm.rank() == 0) {
      const auto t0 = Clock::now();
      const int64_t delay = o.debug.checkpoint_delay_ms;
      const auto path = write_checkpoint(o.run.dir, c, {o.checkpoint.keep, o.checkpoint.keep_every}, [delay] {
        if (delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      });
      std::printf("checkpoint  step %lld -> %s (%s, %.0f ms)\n", static_cast<long long>(state.step), path.c_str(),
                  mib(static_cast<int64_t>(std::filesystem::file_size(path))).c_str(), 1000 * seconds_since(t0));
      std::fflush(stdout);
    }
    comm.barrier("checkpoint written");
  }

  void restore(const std::string& path, const Checkpoint& c) {
    TAL_REQUIRE(c.model == "hypernet", path, ": is a checkpoint of an ", c.model, " run, not of a hypernetwork");
    TAL_REQUIRE(c.base_hash == net->base_hash(), path, ": was trained from the ancestry with content hash ",
                c.base_hash.empty() ? "(none)" : c.base_hash, ", this run starts from ",
                net->base_hash().empty() ? "(none)" : net->base_hash(), " (key 'ancestry.checkpoint')");
    model->restore(path, c);
    state = c.state;
    TAL_REQUIRE(state.cursors.size() == cursors.size(), path, ": sampler state for ", state.cursors.size(),
                " task streams, this run has ", cursors.size(), " (another task suite or stage?)");
    cursors = state.cursors;
    if (c.world == comm.world() && static_cast<int>(c.rng.size()) > comm.rank()) {
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
    TAL_REQUIRE(c.base_hash.empty() || c.base_hash == net->base_hash(), path,
                ": was trained from the ancestry with content hash ", c.base_hash, ", this run starts from ",
                net->base_hash().empty() ? "(none)" : net->base_hash(), " (key 'ancestry.checkpoint')");
    const int64_t loaded = model->load_matching(c.weights);
    TAL_REQUIRE(loaded > 0, path, ": no hypernet parameter matches (made by ", c.hypernet_describe, ")");
    if (comm.rank() == 0)
      std::printf("init  %lld hypernet tensors from %s (step %lld); %lld kept as initialised (e.g. the task FiLM)\n",
                  static_cast<long long>(loaded), path.c_str(), static_cast<long long>(c.state.step),
                  static_cast<long long>(model->named.size()) - static_cast<long long>(loaded));
  }

  // ---- progress ---------------------------------------------------------------------------------------------

  void log_progress(int64_t step, double step_seconds, double elapsed, int64_t done_here, int64_t images, int64_t archs) {
    if (comm.rank() != 0) return;
    const bool pre = is_pretrain(step - 1);
    const std::string task = data.tasks[static_cast<size_t>(planner->task_of(step - 1))].def().name;
    const double eta = elapsed / static_cast<double>(std::max<int64_t>(1, done_here)) * static_cast<double>(total_steps - step);
    const double img_s = static_cast<double>(images) / step_seconds, arch_s = static_cast<double>(archs) / step_seconds;
    Progress()
        .add(strf("step %lld/%lld", static_cast<long long>(step), static_cast<long long>(total_steps)), "step", step)
        .add(pre ? "pretrain" : "multitask", "stage", std::string(pre ? "pretrain" : "multitask"))
        .add("task " + task, "task", task)
        .add(strf("loss %.4f", last_loss), "loss", last_loss)
        .add(strf("lr %.2e", learning_rate(step - 1)), "lr", learning_rate(step - 1))
        .add(strf("|g| %.3f", last_grad_norm), "grad_norm", last_grad_norm)
        .add(strf("step %.2f s", step_seconds), "step_s", step_seconds)
        .add(strf("%.0f img/s", img_s), "images_per_s", img_s)
        .add(strf("%.2f arch/s", arch_s), "archs_per_s", arch_s)
        .add(strf("wait %.0f%%", 100 * last_wait / step_seconds), "wait_fraction", last_wait / step_seconds)
        .add("", "skipped_steps", state.skipped_steps)
        .add("ETA " + duration_text(eta), "eta_s", eta)
        .emit(metrics);
  }

  void say(const std::string& line) const {
    if (comm.rank() != 0) return;
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }
};

Trainer::Trainer(const TalOptions& options, std::string config_yaml, Communicator& comm, const ResumeRequest& resume)
    : impl_(std::make_unique<Impl>(options, std::move(config_yaml), comm)) {
  auto& m = *impl_;
  if (comm.rank() == 0)  // what a writer killed mid-write left (checkpoints are written by rank 0)
    for (const auto& dir : {options.run.dir, checkpoint_dir(options.run.dir)})
      for (const auto& orphan : sweep_dead_temporaries(dir))
        std::printf("resume  removed %s, the temporary of a writer that was killed\n", orphan.c_str());
  const std::string path = checkpoint_to_resume(options.run.dir, resume.from, resume.allowed);
  if (!path.empty()) {
    const auto t0 = Clock::now();
    const auto ckpt = read_checkpoint(path);
    if (comm.rank() == 0) std::printf("checkpoint  read %s in %.0f ms\n", path.c_str(), 1000 * seconds_since(t0));
    m.restore(path, ckpt);
  } else if (!options.train.init.empty()) {
    m.init_from(options.train.init);
  }
  // Only now, with every input read and checked, does the run directory get its metrics log.
  if (comm.rank() == 0) m.metrics = MetricsLog((std::filesystem::path(options.run.dir) / "metrics.jsonl").string());
}

Trainer::~Trainer() {
  if (impl_ && impl_->next.valid()) impl_->next.wait();
}

int Trainer::run() {
  auto& m = *impl_;
  m.say(strf("train  %s, %s, %lld steps (%lld pretrain), meta-batch %lld x %lld images, %d rank(s) [%s], "
             "%s hypernet parameters",
             m.o.hypernet.describe().c_str(), m.o.train.stage.c_str(), static_cast<long long>(m.total_steps),
             static_cast<long long>(m.pretrain_steps), static_cast<long long>(m.o.train.meta_batch),
             static_cast<long long>(m.o.train.batch), m.comm.world(), m.comm.backend().c_str(),
             with_commas(m.model->numel()).c_str()));
  if (m.comm.world() > 1) m.say("ranks  " + m.comm.describe_hosts());
  m.say("device  " + m.device.device.str() + " (" + m.device.reason + "); target models in " +
        (m.bf16 ? "bf16 autocast" : "float32") + " (train.autocast=" + m.o.train.autocast + ")");
  // What each stage reads: the classes a class-disjoint held-out task relies on never reaching training.
  auto describe = [&](int64_t t) {
    const Task& task = m.data.tasks[static_cast<size_t>(t)];
    std::string classes;
    for (const auto& c : task.class_names()) classes += (classes.empty() ? "" : ", ") + c;
    return task.def().name + " (" + with_commas(task.size(Split::Train)) + " training examples" +
           (task.def().pack ? "" : "; classes " + classes) + ")";
  };
  for (const int64_t t : m.data.pretrain_tasks) m.say("data  stage 1: " + describe(t));
  for (const int64_t t : m.data.multitask_tasks) m.say("data  stage 2: " + describe(t));
  if (m.o.hypernet.inherits()) m.say("inherit  from the ancestry " + m.o.ancestry.checkpoint + " (content hash " +
                                     m.net->base_hash() + "); every gate starts at 0: step 0 predicts weight selection");
  const int64_t first = m.state.step;
  LoopSchedule schedule;
  schedule.total_steps = m.total_steps;
  schedule.log_every = m.o.train.log_every;
  schedule.eval_every = m.o.train.eval_every;
  schedule.eval_at = {m.pretrain_steps, m.total_steps};
  schedule.checkpoint_every = m.o.checkpoint.every;
  schedule.until_step = m.o.train.until_step;
  int64_t images0 = 0, archs0 = 0;
  LoopHooks hooks;
  hooks.step = [&](int64_t step) {
    images0 = m.timings.images;
    archs0 = m.timings.archs;
    m.train_step(step);
  };
  hooks.log = [&](int64_t done, double secs, double elapsed, int64_t done_here) {
    m.log_progress(done, secs, elapsed, done_here, m.timings.images - images0, m.timings.archs - archs0);
  };
  hooks.evaluate = [&](int64_t done) { m.evaluate(done); };
  hooks.save = [&] { m.save_checkpoint(); };
  hooks.any_rank = [&](bool flag) { return m.comm.any(flag, "preemption consensus"); };
  hooks.say = [&](const std::string& line) { m.say(line); };
  const auto start = Clock::now();
  // A marker of the last stop for a requeue, for batch scripts whose launcher may report another exit code.
  const auto marker = (std::filesystem::path(m.o.run.dir) / "preempted").string();
  std::error_code ignored;
  if (m.comm.rank() == 0) std::filesystem::remove(marker, ignored);
  const int rc = run_loop(first, schedule, hooks);
  if (rc == kPreemptedExitCode && m.comm.rank() == 0)
    write_atomically(marker, [&](const std::string& tmp) {
      std::ofstream(tmp) << "step " << m.state.step << "\n";
    });
  if (rc == 0 && m.state.step == m.total_steps)
    m.say(strf("train  done: %lld steps in %s, %lld skipped", static_cast<long long>(m.total_steps - first),
               duration_text(seconds_since(start)).c_str(), static_cast<long long>(m.state.skipped_steps)));
  return rc;
}

void Trainer::run_steps(int64_t n) {
  for (int64_t i = 0; i < n && impl_->state.step < impl_->total_steps; ++i) impl_->train_step(impl_->state.step);
}

const StepTimings& Trainer::timings() const { return impl_->timings; }
void Trainer::reset_timings() { impl_->timings = StepTimings(); }
int64_t Trainer::step() const { return impl_->state.step; }
std::string Trainer::device() const { return impl_->device.device.str(); }
bool Trainer::autocast_bf16() const { return impl_->bf16; }

std::vector<std::pair<std::string, at::Tensor>> Trainer::hypernet_parameters() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (size_t i = 0; i < impl_->model->named.size(); ++i)
    out.emplace_back(impl_->model->named[i].first, impl_->model->params[i].detach());
  return out;
}

}  // namespace tal
