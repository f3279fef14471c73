#include "trainer/finetune/run_record.h"

#include "base/error.h"

namespace tal {
namespace {

constexpr size_t kScalars = 12;

}  // namespace

RunRecord RunRecord::of(int64_t cell, const RunOutcome& run, double seconds, double init_ms, const BodyStats& body) {
  RunRecord r;
  r.present = true;
  r.completed = run.completed;
  r.cell = cell;
  r.seconds = seconds;
  r.init_ms = init_ms;
  r.val_accuracy = run.val_accuracy;
  r.val_mcc = run.val_mcc;
  r.body = body;
  r.accuracy = run.accuracy;
  r.mcc = run.mcc;
  r.loss = run.loss;
  return r;
}

at::Tensor RunRecord::pack(size_t evals, int64_t steps) const {
  auto t = at::zeros({static_cast<int64_t>(kScalars + 2 * evals) + steps}, at::kDouble);
  auto* p = t.data_ptr<double>();
  const double scalars[kScalars] = {static_cast<double>(present), static_cast<double>(completed),
                                    static_cast<double>(cell),    seconds,
                                    init_ms,                      val_accuracy,
                                    val_mcc,                      body.cosine,
                                    body.stable_rank,             body.std,
                                    static_cast<double>(failed),  static_cast<double>(stored)};
  std::copy(scalars, scalars + kScalars, p);
  for (size_t i = 0; i < accuracy.size() && i < evals; ++i) p[kScalars + i] = accuracy[i];
  for (size_t i = 0; i < mcc.size() && i < evals; ++i) p[kScalars + evals + i] = mcc[i];
  for (size_t i = 0; i < loss.size() && i < static_cast<size_t>(steps); ++i) p[kScalars + 2 * evals + i] = loss[i];
  return t;
}

RunRecord RunRecord::unpack(const at::Tensor& packed, size_t evals, int64_t steps) {
  TAL_REQUIRE(packed.scalar_type() == at::kDouble && packed.numel() == static_cast<int64_t>(kScalars + 2 * evals) + steps,
              "a fine-tuning round's record has ", packed.numel(), " values, expected ",
              static_cast<int64_t>(kScalars + 2 * evals) + steps);
  const auto c = packed.contiguous();
  const auto* p = c.data_ptr<double>();
  RunRecord r;
  r.present = p[0] != 0;
  r.completed = p[1] != 0;
  r.cell = static_cast<int64_t>(p[2]);
  r.seconds = p[3];
  r.init_ms = p[4];
  r.val_accuracy = p[5];
  r.val_mcc = p[6];
  r.body = {p[7], p[8], p[9]};
  r.failed = p[10] != 0;
  r.stored = static_cast<int64_t>(p[11]);
  r.accuracy.assign(p + kScalars, p + kScalars + evals);
  r.mcc.assign(p + kScalars + evals, p + kScalars + 2 * evals);
  r.loss.assign(p + kScalars + 2 * evals, p + kScalars + 2 * evals + steps);
  return r;
}

}  // namespace tal
