// A multi-task method's sources in the grid (ScaLearn: every task's single-task adapter on the same host): where the
// runs that train them keep their modules, which run is each task's source (its rate chosen on validation, as every
// reported run's), and how rank 0 hands them to the rank that needs them.
#pragma once

#include <string>
#include <vector>

#include "dist/communicator.h"
#include "trainer/files/finetune_results.h"  // kept_modules_path

namespace tal {

// The key of the run of `method` on (task, architecture as the grid names it, init, seed) that a multi-task run reads:
// not ported, at the rate validation chose, with the first of `heads` that task's runs have (the multi-task run's own
// head choice first; a source task may have a choice where the target has none); "" when there is none.
std::string source_run(const std::vector<FinetuneCell>& results, const std::string& task, const std::string& arch,
                       const std::string& init, int64_t seed, const std::vector<std::string>& heads,
                       const std::string& method);

// Rank 0's bytes on every rank.
std::string broadcast_bytes(Communicator& comm, const std::string& bytes, const char* what);

}  // namespace tal
