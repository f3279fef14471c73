// The step and plan benchmarks (cmd_bench_step.cpp), dispatched from cmd_bench.cpp with the others.
#pragma once

#include "trainer/cli/commands.h"

namespace tal {

// A training step split into its parts, per-rank busy and waiting time, the plan's modelled balance and the cost
// model against the measured times.
int bench_step(const Args& args, Runtime& runtime);
// The work planner alone, for N ranks, on the configured zoo and meta-batch: no training.
int bench_plan(const Args& args);

}  // namespace tal
