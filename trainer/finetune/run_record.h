// What a rank says of its run after a round of the fine-tuning grid: one typed record, sent to the others as a
// double vector of a length every rank knows (so one allgather carries the round).
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "trainer/finetune/finetune_run.h"
#include "trainer/finetune/protocol.h"

namespace tal {

struct RunRecord {
  bool present = false;    // this rank ran a cell this round
  bool completed = false;  // the run finished (not stopped by a preemption)
  bool failed = false;     // the run threw; its rank printed the error
  int64_t cell = -1;       // index into the grid's cells
  double seconds = 0;      // the run's wall time
  double init_ms = 0;      // of which making its initial weights
  double val_accuracy = -1, val_mcc = -1;
  BodyStats body;          // the initial weights' layers
  int64_t stored = -1;     // what the run's method stores after it (TAPS: its active layers); -1: as the grid said
  std::vector<double> accuracy, mcc, loss;  // at each evaluation (E), each evaluation (E), each step

  // A finished (or stopped) run of `cell`.
  static RunRecord of(int64_t cell, const RunOutcome& run, double seconds, double init_ms, const BodyStats& body);
  // [flags and scalars, accuracy x E, mcc x E, loss x steps]: curves shorter than E or steps are padded with 0.
  at::Tensor pack(size_t evals, int64_t steps) const;
  static RunRecord unpack(const at::Tensor& packed, size_t evals, int64_t steps);
};

}  // namespace tal
