// Synthetic inputs for timing a step of any size without a dataset (`tal bench step --synthetic`): random images of
// the zoo's size and channels, or random token sequences of its context and vocabulary, in a task store; a suite of
// that one task; and, for a task-conditioned hypernetwork, a random task embedding.
#pragma once

#include <string>

#include "trainer/config/options.h"

namespace tal {

// Writes the store, the suite and (for FiLM) the embeddings under `dir` (created), enough examples for one step's
// meta-batch, seeded by run.seed; points `o` at them for stage 2 on the one task. Returns one line saying what
// was made.
std::string use_synthetic_data(TalOptions& o, const std::string& dir);

}  // namespace tal
