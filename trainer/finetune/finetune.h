// tal finetune: the grid of independent fine-tuning runs, every (task, architecture, initialisation, seed), as
// work for MPI ranks. Runs are sorted by cost and dealt out in rounds of one run per rank (each round's runs are
// of similar cost); after each round the ranks gather their results and rank 0 rewrites run.dir/finetune.h5
// (and appends to metrics.jsonl), so an interrupted grid loses at most the round in flight. A re-run skips the
// cells already in the file (keyed by the hash of everything that defines a cell). SIGTERM/USR1 end the current
// runs at a step boundary; the round's finished runs are kept and the process exits 75 like tal train.
#pragma once

#include <string>

#include "dist/communicator.h"
#include "trainer/config/commands.h"

namespace tal {

int run_finetune_grid(const CommandOptions& o, const std::string& config_yaml, Communicator& comm);

// The runs of round `round` on `world` ranks, given the pending runs sorted by cost (largest first): rank r takes
// the (round * world + r)-th, so each round's runs are of similar cost and every run is taken exactly once.
// Returns -1 where the rank has none in that round.
int64_t run_of(size_t pending, int world, int rank, size_t round);
size_t rounds_for(size_t pending, int world);

}  // namespace tal
