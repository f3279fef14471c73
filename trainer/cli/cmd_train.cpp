// tal train: stage 1, stage 2 or both, on one process or as one rank of many.
#include <ATen/Parallel.h>

#include "base/error.h"
#include "trainer/cli/commands.h"
#include "trainer/cli/runtime.h"
#include "trainer/config/command_line.h"
#include "trainer/config/commands.h"
#include "trainer/train/trainer.h"

namespace tal {

int run_train(const Args& args, Runtime& runtime) {
  const auto table = command_table("train");
  const auto parsed = command_options(
      table, args,
      "tal train --config FILE [key=value ...] [--resume-from FILE|DIR] [--no-resume]\n"
      "exit codes: 0 done, 1 error, 75 preempted (checkpoint written; requeue to continue)");
  if (!parsed) return 0;
  const auto& o = *parsed;
  if (o.threads > 0) at::set_num_threads(static_cast<int>(o.threads));
  auto& dist = runtime.dist(o.dist);
  Trainer trainer(o, run_config_table().dump(o), dist.comm(), ResumeRequest{!o.resume.disabled, o.resume.from});
  return trainer.run();
}

}  // namespace tal
