// The periodic evaluation of a training run: architectures the training zoo never drew (a separate stream of the
// same rules), predicted for each evaluated task and tested on its first test images, sharded over the ranks.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "dist/communicator.h"
#include "hypernet/hypernet.h"
#include "trainer/config/options.h"
#include "trainer/train/metrics.h"
#include "trainer/train/training_data.h"

namespace tal {

struct HeldOutEvaluation {
  uint64_t seed = 0;
  int64_t archs = 2;     // architectures per task
  int64_t images = 1000;  // test images per task
  ZooOptions zoo;
};

// Prints one line per task on rank 0 (and records it in `metrics`); every rank must call it.
void evaluate_held_out(Hypernet& net, const TrainingData& data, const std::vector<int64_t>& tasks, int64_t step,
                       const HeldOutEvaluation& config, const std::function<at::Tensor(int64_t task)>& embedding,
                       Communicator& comm, MetricsLog& metrics);

}  // namespace tal
