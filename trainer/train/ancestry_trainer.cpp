#include "trainer/train/ancestry_trainer.h"

#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "base/error.h"
#include "datasets/atomic_file.h"
#include "datasets/prefetch.h"
#include "datasets/tasks.h"
#include "hypernet/family.h"
#include "trainer/files/ancestry_file.h"
#include "trainer/files/build_info.h"
#include "trainer/files/checkpoint.h"
#include "trainer/train/evaluator.h"
#include "trainer/train/epoch_batches.h"
#include "trainer/train/format.h"
#include "trainer/train/metrics.h"
#include "trainer/train/model_state.h"
#include "trainer/train/optimizer.h"
#include "trainer/train/progress.h"
#include "trainer/train/run_device.h"
#include "trainer/train/run_loop.h"
#include "trainer/train/target_step.h"
#include "trainer/train/training_data.h"
#include "trainer/train/update.h"

namespace tal {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Where the run keeps its checkpoints: beside the model file, never in a hypernet run's directory.
std::string training_dir(const std::string& model_path) {
  const std::filesystem::path p(model_path);
  return (p.parent_path() / (p.stem().string() + ".train")).string();
}

}  // namespace

int train_ancestry(const TalOptions& o, const std::string& config_yaml) {
  const auto& a = o.ancestry;
  AncestryModel model;
  model.spec = ArchSpec::parse(a.arch);
  TaskDef def;
  def.name = std::filesystem::path(a.dataset).stem().string();
  def.dataset = a.dataset;
  def.classes = a.classes;
  if (model.spec.family().reads_text()) {
    def.pack = true;  // a causal language model over the corpus, in sequences of its context
    def.max_length = model.spec.at("context");
  } else {
    def.flip = a.flip;
    def.crop_padding = a.crop_padding;
  }
  const auto tasks = resolve_tasks({def}, o.data.root, o.data.memory_limit);
  const Task& task = tasks[0];
  if (!task.def().pack) model.classes = task.class_names();
  require_distinct_output("ancestry.checkpoint", a.checkpoint, {{"the ancestry.dataset", task.store_path()}});
  // Keys the data fixes (image, channels, classes: those of ancestry.classes) may be left out of the spec.
  try {
    model.spec = spec_for_task(a.arch, task);
  } catch (const Error& e) {
    throw Error(std::string("key 'ancestry.arch': ") + e.what());
  }
  const auto seed = static_cast<uint64_t>(o.run.seed);
  const RunDevice device = run_device(o.device);
  model.params = init_params(model.spec, seed);
  for (auto& [name, t] : model.params) t = t.to(device.device);
  NamedTensors named;
  for (const auto& p : param_table(model.spec)) named.emplace_back(p.name, model.params[p.name].requires_grad_(true));
  ModelState state(named, a.weight_decay, /*with_ema=*/false);

  const int64_t n = task.size(Split::Train), per_epoch = n / a.batch;
  TAL_REQUIRE(per_epoch > 0, "key 'ancestry.batch': ", a.batch, " is larger than the ", n, " training images");
  const int64_t total = a.max_steps > 0 ? std::min(a.max_steps, per_epoch * a.epochs) : per_epoch * a.epochs;
  TrainState ts;
  const std::string dir = training_dir(a.checkpoint);
  if (const auto path = latest_checkpoint(dir); !path.empty()) {
    const auto c = read_checkpoint(path);
    TAL_REQUIRE(c.model == "ancestry", path, ": is a checkpoint of a ", c.model, " run, not of an ancestry model");
    state.restore(path, c);
    ts = c.state;
    std::printf("resume  from %s at step %lld\n", path.c_str(), static_cast<long long>(ts.step));
  }

  EpochBatches batches(task, a.batch, seed);
  auto produce = [&](int64_t step) {
    Batch b = batches.at(step);
    b.inputs = to_device(b.inputs, device.device);
    b.labels = to_device(b.labels, device.device);
    return b;
  };
  Prefetcher<Batch> loader(produce, total);
  MetricsLog metrics(o.run.dir + "/metrics.jsonl");
  std::printf("ancestry: %s on %s (%s train %s), %lld steps of %lld, %d thread(s)\n", model.spec.str().c_str(),
              task.store_path().c_str(), with_commas(n).c_str(), task.is_text() ? "sequences" : "images", static_cast<long long>(total),
              static_cast<long long>(a.batch), at::get_num_threads());
  std::printf("device  %s (%s)\n", device.device.str().c_str(), device.reason.c_str());
  std::fflush(stdout);

  const auto start = Clock::now();
  auto window_start = start;
  double window_loss = 0, window_wait0 = 0, last_norm = 0;
  int64_t window_steps = 0;
  const auto test_all = first_positions(task.size(Split::Test));
  auto test_eval = [&] { return evaluate(model.spec, model.params, task, Split::Test, test_all); };
  // "test accuracy 12.34%", and for a language model its perplexity too.
  auto scores = [&](const Evaluation& e) {
    return strf("test accuracy %.2f%%", 100 * e.accuracy()) +
           (e.language_model ? strf(" (next token), perplexity %.2f", e.perplexity()) : "");
  };

  LoopSchedule schedule;
  schedule.total_steps = total;
  schedule.log_every = a.log_every;
  schedule.eval_every = per_epoch;
  schedule.checkpoint_every = o.checkpoint.every;
  LoopHooks hooks;
  hooks.step = [&](int64_t step) {
    const Batch b = loader.get(step);
    state.optim->set_steps(ts.optimizer_steps);
    const TargetStep done = target_step(model.spec, model.params, b, state.params, *state.optim,
                                        cosine_lr(a.lr, step, a.warmup, total), a.clip, a.label_smoothing);
    last_norm = done.grad_norm;
    ts.optimizer_steps = state.optim->steps();
    ts.step = step + 1;
    window_loss += done.loss;
    ++window_steps;
  };
  hooks.log = [&](int64_t done, double, double elapsed, int64_t done_here) {
    const double secs = seconds_since(window_start), waited = loader.wait_seconds() - window_wait0;
    const double ms = 1000 * secs / static_cast<double>(window_steps);
    const double img_s = static_cast<double>(window_steps * a.batch) / secs, lr = cosine_lr(a.lr, done - 1, a.warmup, total);
    const double eta = elapsed / static_cast<double>(done_here) * static_cast<double>(total - done);
    Progress()
        .add("ancestry", "stage", std::string("ancestry"))
        .show(strf("epoch %lld", static_cast<long long>((done - 1) / per_epoch + 1)))
        .add(strf("step %lld/%lld", static_cast<long long>(done), static_cast<long long>(total)), "step", done)
        .add(strf("loss %.4f", window_loss / static_cast<double>(window_steps)), "loss",
             window_loss / static_cast<double>(window_steps))
        .add(strf("lr %.2e", lr), "lr", lr)
        .add(strf("|g| %.3f", last_norm), "grad_norm", last_norm)
        .add(strf("step %.0f ms", ms), "step_ms", ms)
        .add(strf("%.0f img/s", img_s), "images_per_s", img_s)
        .add(strf("data wait %.1f%%", 100 * waited / secs), "data_wait_fraction", waited / secs)
        .show("ETA " + duration_text(eta))
        .emit(metrics);
    window_start = Clock::now();
    window_loss = 0;
    window_steps = 0;
    window_wait0 = loader.wait_seconds();
  };
  hooks.evaluate = [&](int64_t done) {
    if (done == total) return;  // the final accuracy is reported below
    std::printf("ancestry  epoch %lld  %s\n", static_cast<long long>(done / per_epoch), scores(test_eval()).c_str());
    std::fflush(stdout);
  };
  hooks.save = [&] {
    Checkpoint c;
    c.model = "ancestry";
    c.state = ts;
    state.capture(c);
    c.config_yaml = config_yaml;
    c.hypernet_variant = "ancestry";
    c.hypernet_describe = model.spec.str();
    c.git_revision = git_revision();
    c.rng.push_back(at::detail::getDefaultCPUGenerator().get_state());
    write_checkpoint(dir, c, {1, 0});
  };
  hooks.any_rank = [](bool flag) { return flag; };
  hooks.say = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  const int rc = run_loop(ts.step, schedule, hooks);
  if (rc != 0) return rc;

  for (auto& p : state.params) p.requires_grad_(false);
  const Evaluation final_eval = test_eval();
  model.test_accuracy = final_eval.accuracy();
  save_ancestry(a.checkpoint, model, task.store_path());
  JsonLine line;
  line.add("stage", std::string("ancestry")).add("step", total).add("test_accuracy", model.test_accuracy);
  if (final_eval.language_model) line.add("test_perplexity", final_eval.perplexity());
  metrics.write(line);
  const double secs = seconds_since(start);
  std::printf("ancestry: %s after %lld steps (%s); data wait %.1f%% of the run; wrote %s\n",
              scores(final_eval).c_str(), static_cast<long long>(total), duration_text(secs).c_str(),
              100 * loader.wait_seconds() / std::max(secs, 1e-9), a.checkpoint.c_str());
  return 0;
}

}  // namespace tal
