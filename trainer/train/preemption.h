// SIGTERM and SIGUSR1 (what SLURM sends before a time limit) only set a flag; the training loop reads it at step
// boundaries, the ranks agree, a checkpoint is written and the process exits with kPreemptedExitCode so a batch
// script can requeue the job. The handler itself does no I/O.
#pragma once

namespace tal {

constexpr int kPreemptedExitCode = 75;  // EX_TEMPFAIL: "try again later"

void install_preemption_handlers();
bool preemption_requested();

}  // namespace tal
