// Seconds spent in each part of the steps timed so far (tal bench step reports them).
#pragma once

#include <cstdint>

namespace tal {

struct StepTimings {
  double plan = 0, data_wait = 0, graphs = 0, hypernet_forward = 0, target_forward = 0, target_backward = 0,
         hypernet_backward = 0, allreduce = 0, optimizer = 0, total = 0;
  int64_t steps = 0, images = 0, archs = 0;
};

}  // namespace tal
