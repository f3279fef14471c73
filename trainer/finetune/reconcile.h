// Resuming a fine-tuning grid: which runs of an earlier results file the grid keeps, which it runs again and why.
// A pure function of the file's contents and the grid (no file, no rank), so each rule has a unit test.
#pragma once

#include <string>
#include <vector>

#include "trainer/files/finetune_results.h"

namespace tal {

// What the grid says of one of its cells now.
struct GridCell {
  FinetuneCell meta;       // what defines the cell (key, task, spec, init, seed, lr, head) and what the grid now says
                           // of it (metric, task kind, held out, in zoo); curves empty
  bool wants_mcc = false;  // the evaluator gives this cell an MCC curve (a classification task)
};

struct Reconciled {
  FinetuneResults results;       // the file's runs that are kept, with the grid's current facts on them
  std::vector<bool> done;        // per grid cell: its run is among them
  size_t other_checkpoint = 0;   // runs of a current cell made from another checkpoint of its source: dropped
  size_t without_mcc = 0;        // runs with no MCC curve where the grid now wants one (a version 1 file): dropped
};

// The rules, in order:
//  1. a file whose runs were made with another recipe, or that records a method this build does not know, is refused
//     (one line naming `path`; an empty file is not); a file of another method set is resumed (rule 4);
//  2. a run of a current cell (same task, spec, init, seed, rate and head) with another key (the hypernetwork was
//     trained further, another source) is dropped, to be run again, never mixed in;
//  3. a kept run of a current cell takes the grid's metric, task kind, held-out flag and zoo membership, and is
//     dropped when it has no MCC curve that the grid now wants;
//  4. runs of cells outside this grid are kept as they are (another grid's, sharing the file).
Reconciled reconcile_results(FinetuneResults file, const std::string& recipe, const std::vector<GridCell>& grid,
                             const std::string& path);

}  // namespace tal
