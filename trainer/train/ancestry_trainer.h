// tal ancestry train: the ancestry (teacher) model, an ordinary model of the family trained on the large dataset
// (AdamW, warm-up + cosine, label smoothing, crops and flips), through the same loop pieces as tal train: the run
// schedule, the reduced update, the evaluator, progress and metrics, and checkpoints that resume bit for bit.
#pragma once

#include <string>

#include "trainer/config/options.h"

namespace tal {

// Trains (or resumes from run.dir's checkpoint) and writes ancestry.checkpoint. Returns 0, or kPreemptedExitCode
// after a checkpoint.
int train_ancestry(const TalOptions& options, const std::string& config_yaml);

}  // namespace tal
