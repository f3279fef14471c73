// tal ancestry train: an ordinary ViT on the large dataset (AdamW, cosine schedule, label smoothing), saved in
// HDF5 under torchvision names. tal tasks embed: task embeddings from its features.
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "datasets/prefetch.h"
#include "datasets/tasks.h"
#include "hypernet/error.h"
#include "hypernet/zoo.h"
#include "trainer/ancestry.h"
#include "trainer/command_line.h"
#include "trainer/commands.h"
#include "trainer/subcommands.h"
#include "trainer/format.h"
#include "trainer/metrics.h"
#include "trainer/optimizer.h"
#include "trainer/options.h"
#include "trainer/task_embeddings.h"

namespace tal {
namespace {

using Clock = std::chrono::steady_clock;

OptionTable<TalOptions> train_table() {
  OptionTable<TalOptions> t;
  add_tal_options(t);
  return t;
}

double evaluate(const AncestryModel& m, const Task& task, int64_t batch = 1000) {
  at::NoGradGuard guard;
  int64_t correct = 0;
  const int64_t n = task.size(Split::Test);
  for (int64_t start = 0; start < n; start += batch) {
    std::vector<int64_t> pos;
    for (int64_t i = start; i < std::min(n, start + batch); ++i) pos.push_back(i);
    const auto b = task.load(Split::Test, pos);
    correct += vit_forward(m.spec, m.params, b.images).argmax(1).eq(b.labels).sum().item<int64_t>();
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

std::string eta(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(seconds) / 60, static_cast<int>(seconds) % 60);
  return buf;
}

int ancestry_train(const Args& args) {
  const auto table = train_table();
  const auto parsed = command_options(table, args, "tal ancestry train --config configs/ancestry_vit.yaml [key=value ...]");
  if (!parsed) return 0;
  const auto o = *parsed;
  if (o.threads > 0) at::set_num_threads(static_cast<int>(o.threads));
  const auto& a = o.ancestry;
  TaskDef def;
  def.name = std::filesystem::path(a.dataset).stem().string();
  def.dataset = a.dataset;
  def.flip = a.flip;
  def.crop_padding = a.crop_padding;
  const auto tasks = resolve_tasks({def}, o.data.root);
  const Task& task = tasks[0];
  AncestryModel model;
  model.spec = ArchSpec::parse(a.arch);
  const auto shape = task.image_shape();
  TAL_REQUIRE(model.spec.channels == shape[0] && model.spec.image == shape[1] && model.spec.classes == task.num_classes(),
              "key 'ancestry.arch': ", model.spec.str(), " does not fit ", task.store().path(), " (", shape[0],
              " channels, ", shape[1], "x", shape[2], " images, ", task.num_classes(), " classes)");
  model.params = init_params(model.spec, static_cast<uint64_t>(o.run.seed));
  std::vector<at::Tensor> params;
  for (const auto& p : param_table(model.spec)) params.push_back(model.params[p.name].requires_grad_(true));
  AdamW optim(params, {0.9, 0.999, 1e-8, a.weight_decay});

  const int64_t n = task.size(Split::Train), per_epoch = n / a.batch;
  const int64_t total = a.max_steps > 0 ? std::min(a.max_steps, per_epoch * a.epochs) : per_epoch * a.epochs;
  const auto seed = static_cast<uint64_t>(o.run.seed);
  std::mutex order_mutex;
  std::vector<int64_t> order;
  int64_t order_epoch = -1;
  auto produce = [&](int64_t step) {
    const int64_t epoch = step / per_epoch, i = step % per_epoch;
    std::vector<int64_t> ord;
    {
      std::lock_guard<std::mutex> lock(order_mutex);
      if (epoch != order_epoch) {
        order = epoch_order(n, seed, 1, epoch);  // a pure function of (seed, epoch)
        order_epoch = epoch;
      }
      ord = order;
    }
    std::vector<int64_t> pos(ord.begin() + i * a.batch, ord.begin() + (i + 1) * a.batch);
    std::vector<uint64_t> aug;
    for (int64_t j = 0; j < a.batch; ++j) aug.push_back(mix_seed(seed, 2, static_cast<uint64_t>(step * a.batch + j)));
    return task.load(Split::Train, pos, &aug);
  };
  Prefetcher<Batch> loader(produce, total);
  MetricsLog metrics(o.run.dir + "/metrics.jsonl");
  std::printf("ancestry: %s on %s (%s train images), %lld steps of %lld, %d thread(s)\n", model.spec.str().c_str(),
              task.store().path().c_str(), with_commas(n).c_str(), static_cast<long long>(total),
              static_cast<long long>(a.batch), at::get_num_threads());
  const auto start = Clock::now();
  auto window_start = start;
  double window_loss = 0;
  int64_t window_steps = 0;
  double window_wait0 = 0;
  for (int64_t step = 0; step < total; ++step) {
    const Batch b = loader.get(step);
    const double lr = cosine_lr(a.lr, step, a.warmup, total);
    auto logits = vit_forward(model.spec, model.params, b.images);
    auto loss = at::cross_entropy_loss(logits, b.labels, {}, at::Reduction::Mean, -100, a.label_smoothing);
    optim.zero_grad();
    loss.backward();
    const double gnorm = clip_grad_norm(params, a.clip);
    optim.step(lr);
    window_loss += loss.item<double>();
    ++window_steps;
    if ((step + 1) % a.log_every == 0 || step + 1 == total) {
      const double secs = std::chrono::duration<double>(Clock::now() - window_start).count();
      const double waited = loader.wait_seconds() - window_wait0;
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      const double ms = 1000 * secs / static_cast<double>(window_steps);
      std::printf("ancestry  epoch %lld  step %lld/%lld  loss %.4f  lr %.2e  |g| %.3f  step %.0f ms  %.0f img/s  "
                  "data wait %.1f%%  ETA %s\n",
                  static_cast<long long>(step / per_epoch + 1), static_cast<long long>(step + 1),
                  static_cast<long long>(total), window_loss / static_cast<double>(window_steps), lr, gnorm, ms,
                  static_cast<double>(window_steps * a.batch) / secs, 100 * waited / secs,
                  eta(elapsed / static_cast<double>(step + 1) * static_cast<double>(total - step - 1)).c_str());
      std::fflush(stdout);
      metrics.write(JsonLine()
                        .add("stage", std::string("ancestry"))
                        .add("step", step + 1)
                        .add("loss", window_loss / static_cast<double>(window_steps))
                        .add("lr", lr)
                        .add("grad_norm", gnorm)
                        .add("step_ms", ms)
                        .add("images_per_s", static_cast<double>(window_steps * a.batch) / secs)
                        .add("data_wait_fraction", waited / secs));
      window_start = Clock::now();
      window_loss = 0;
      window_steps = 0;
      window_wait0 = loader.wait_seconds();
    }
    if ((step + 1) % per_epoch == 0 && step + 1 < total) {
      std::printf("ancestry  epoch %lld  test accuracy %.2f%%\n", static_cast<long long>((step + 1) / per_epoch),
                  100 * evaluate(model, task));
      std::fflush(stdout);
    }
  }
  for (auto& p : params) p.requires_grad_(false);
  model.test_accuracy = evaluate(model, task);
  const auto parent = std::filesystem::path(a.checkpoint).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  save_ancestry(a.checkpoint, model, task.store().path());
  metrics.write(JsonLine().add("stage", std::string("ancestry")).add("step", total).add("test_accuracy", model.test_accuracy));
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("ancestry: test accuracy %.2f%% after %lld steps (%s); data wait %.1f%% of the run; wrote %s\n",
              100 * model.test_accuracy, static_cast<long long>(total), eta(secs).c_str(),
              100 * loader.wait_seconds() / secs, a.checkpoint.c_str());
  return 0;
}

int tasks_embed(const Args& args) {
  OptionTable<TalOptions> t;
  add_tal_options(t);
  const auto parsed = command_options(t, args, "tal tasks embed --config FILE [key=value ...]");
  if (!parsed) return 0;
  const auto o = *parsed;
  if (o.threads > 0) at::set_num_threads(static_cast<int>(o.threads));
  const auto ancestry = load_ancestry(o.ancestry.checkpoint);
  const auto tasks = resolve_tasks(load_task_suite(o.tasks.suite), o.data.root);
  const auto report = update_task_embeddings(o.tasks.embeddings, ancestry, tasks);
  for (const auto& name : report.computed) std::printf("embed: %-24s computed\n", name.c_str());
  for (const auto& name : report.reused) std::printf("embed: %-24s up to date\n", name.c_str());
  std::printf("embed: %zu task(s), %d-d embeddings from %s, in %s\n", tasks.size(), static_cast<int>(ancestry.spec.width),
              o.ancestry.checkpoint.c_str(), o.tasks.embeddings.c_str());
  return 0;
}

}  // namespace

int run_ancestry(const Args& args) {
  return dispatch("ancestry", args,
                  {{"train", "tal ancestry train --config configs/ancestry_vit.yaml   the ancestry (teacher) ViT",
                    ancestry_train}});
}

int run_tasks(const Args& args) {
  return dispatch("tasks", args,
                  {{"embed", "tal tasks embed --config FILE   task embeddings from the ancestry model", tasks_embed}});
}

}  // namespace tal
