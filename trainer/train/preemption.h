// SIGTERM and SIGUSR1 (what SLURM sends before a time limit) and SIGINT (Ctrl-C) only set a flag; the training loop
// reads it at step boundaries, the ranks agree, a checkpoint is written and the process exits with
// kPreemptedExitCode so a batch script can requeue the job. The same signal a second time (two seconds or more after
// the first: copies of one signal, from Slurm and from mpirun, come together) ends the process at once (a step
// boundary that a dead peer never reaches would otherwise keep it until Slurm's KillWait); SIGUSR1 then SIGTERM,
// Slurm's own sequence, is not a second signal.
#pragma once

namespace tal {

constexpr int kPreemptedExitCode = 75;  // EX_TEMPFAIL: "try again later"

void install_preemption_handlers();
bool preemption_requested();

}  // namespace tal
