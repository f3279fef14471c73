#include "trainer/finetune/finetune_run.h"

#include <chrono>

#include "base/error.h"
#include "hypernet/family.h"
#include "trainer/train/epoch_batches.h"
#include "trainer/train/evaluator.h"
#include "trainer/train/optimizer.h"
#include "trainer/train/target_step.h"

namespace tal {

std::vector<int64_t> evaluation_steps(const FinetuneOptions& r) {
  std::vector<int64_t> out;
  for (int64_t s = 0; s < r.steps; s += r.eval_every) out.push_back(s);
  out.push_back(r.steps);
  return out;
}

RunOutcome finetune_run(const ArchSpec& spec, ParamMap& params, const Task& task, const TrainValSplit& split,
                        const FinetuneOptions& r, double lr, uint64_t seed, const std::function<bool()>& stop,
                        Adaptation* method) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto n_train = static_cast<int64_t>(split.train.size());
  TAL_REQUIRE(n_train >= r.batch, "key 'finetune.batch': ", r.batch, " is larger than task '", task.def().name,
              "''s ", n_train, " training images (its validation slice left out)");
  RunOutcome out;
  std::unique_ptr<Adaptation> every_parameter;
  if (!method) {
    every_parameter = attach_method("full", spec, params, seed);
    method = every_parameter.get();
  }
  const BlockHooks* hooks = method->hooks();
  AdamWConfig cfg;
  cfg.weight_decay = r.weight_decay;
  EpochBatches batches(task, split.train, r.batch, seed);
  const int64_t n_test = task.size(Split::Test);
  const auto interim = first_positions(r.eval_images > 0 ? std::min(r.eval_images, n_test) : n_test);
  const auto all = first_positions(n_test);
  const auto evals = evaluation_steps(r);
  size_t next_eval = 0;
  auto record_evaluation = [&](int64_t done) {
    out.eval_steps.push_back(done);
    method->set_training(false);
    const Evaluation e =
        evaluate(spec, params, task, Split::Test, done == r.steps ? all : interim, kEvaluationBatch, hooks);
    method->set_training(true);
    out.accuracy.push_back(e.accuracy());
    if (!e.language_model) out.mcc.push_back(e.mcc());
  };
  const auto stages = method->stage_steps(r.steps);
  int64_t step = 0;
  for (size_t stage = 0; stage < stages.size(); ++stage) {
    if (stage > 0) method->begin_stage(static_cast<int>(stage), StageContext{spec, params, task, split.train});
    std::vector<at::Tensor> trained = method->trainable();
    AdamW optim(trained, cfg);
    const int64_t first = step, length = stages[stage];
    for (; step < first + length; ++step) {
      if (evals[next_eval] == step) {
        record_evaluation(step);
        ++next_eval;
      }
      if (stop()) return out;
      const TargetStep done = target_step(spec, params, batches.at(step), trained, optim,
                                          cosine_lr(lr, step - first, r.warmup, length), r.clip, r.label_smoothing,
                                          hooks, [&] { return method->penalty(); });
      out.loss.push_back(done.loss);
    }
  }
  record_evaluation(r.steps);
  if (!split.val.empty()) {
    method->set_training(false);
    const Evaluation v = evaluate(spec, params, task, Split::Train, split.val, kEvaluationBatch, hooks);
    out.val_accuracy = v.accuracy();
    if (!v.language_model) out.val_mcc = v.mcc();
  }
  out.completed = true;
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return out;
}

}  // namespace tal
