// The one evaluation loop: a model (spec + parameters) on a task's examples, in batches. Every task gets accuracy
// (the family's own notion of correct); a classification task also its confusion matrix, hence the Matthews
// correlation (GLUE's metric for CoLA); a language-model corpus (a packed text task) the summed next-token
// negative log-likelihood, hence the perplexity. Training (held-out architectures, sharded over ranks), tal eval,
// fine-tuning and the ancestry trainer all count through it.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "datasets/tasks.h"
#include "hypernet/targets.h"

namespace tal {

struct Evaluation {
  bool language_model = false;  // a packed corpus: counts are next-token predictions
  double correct = 0, count = 0;
  double nll = 0;        // language model: sum over the `count` predictions of -log p(next token)
  at::Tensor confusion;  // classification with k <= kConfusionClasses: double [k, k], row = true class, column =
                         // predicted class (undefined above: the matrix would outgrow the counts it summarises)

  double accuracy() const { return count > 0 ? correct / count : 0.0; }
  // exp(mean next-token negative log-likelihood); 0 for a classification task.
  double perplexity() const;
  // Matthews correlation over the confusion matrix (Gorodkin's multi-class form, the binary MCC for k = 2), in
  // [-1, 1]; 0 where it is undefined (one class predicted, or one present), as scikit-learn gives.
  double mcc() const;
  bool has_mcc() const { return confusion.defined(); }

  // Everything as one flat double tensor, so ranks sum their shares with one all-reduce; and back.
  at::Tensor to_counts() const;
  Evaluation from_counts(const at::Tensor& summed) const;
};

// Matthews correlation of a [k, k] confusion matrix (rows true, columns predicted).
double matthews_correlation(const at::Tensor& confusion);

// The most examples evaluate() puts in one batch (fewer where the logits would be large).
constexpr int64_t kEvaluationBatch = 1000;

// Tasks with more classes than this get no confusion matrix (nor MCC).
constexpr int64_t kConfusionClasses = 1024;

// An empty evaluation for `task`, to add batches to.
Evaluation empty_evaluation(const Task& task);

// The batch evaluate() uses for `spec` when asked for at most `batch` examples: small enough that the logits of one
// stay under ~256 MiB (a 50,257-token head on 64 tokens: 20 sequences).
int64_t evaluation_batch(const ArchSpec& spec, int64_t batch);

// Evaluates the examples at `positions` of `split` (no gradients), in batches of evaluation_batch(spec, batch)
// from the first position on; with a transfer method's modules where `hooks` is given.
Evaluation evaluate(const ArchSpec& spec, const ParamMap& params, const Task& task, Split split,
                    const std::vector<int64_t>& positions, int64_t batch = kEvaluationBatch,
                    const BlockHooks* hooks = nullptr);

// 0, 1, ..., n - 1.
std::vector<int64_t> first_positions(int64_t n);

}  // namespace tal
