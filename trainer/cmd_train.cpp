// tal train: stage 1, stage 2 or both, on one process or as one rank of many.
#include <ATen/Parallel.h>

#include <iostream>

#include "hypernet/error.h"
#include "trainer/command_line.h"
#include "trainer/commands.h"
#include "trainer/runtime.h"
#include "trainer/trainer.h"

namespace tal {
namespace {

struct TrainCmdOptions : TalOptions {
  std::string resume_from;
  bool no_resume = false;
};

}  // namespace

int run_train(const Args& args, Runtime& runtime) {
  OptionTable<TrainCmdOptions> table;
  add_tal_options(table);
  table.add(opt<TrainCmdOptions>("resume_from", [](auto& o) -> auto& { return o.resume_from; },
                                 "checkpoint file or run directory to resume from")
                .alias("--resume-from"));
  table.add(opt<TrainCmdOptions>("no_resume", [](auto& o) -> auto& { return o.no_resume; },
                                 "refuse to continue a checkpoint found in run.dir")
                .alias("--no-resume"));
  const auto parsed = command_options(
      table, args,
      "tal train --config FILE [key=value ...] [--resume-from FILE|DIR] [--no-resume]\n"
      "exit codes: 0 done, 1 error, 75 preempted (checkpoint written; requeue to continue)");
  if (!parsed) return 0;
  const auto& o = *parsed;
  if (o.threads > 0) at::set_num_threads(static_cast<int>(o.threads));
  auto& dist = runtime.dist(o.dist);
  OptionTable<TalOptions> base;
  add_tal_options(base);
  Trainer trainer(o, base.dump(o), dist.comm(), ResumeRequest{!o.no_resume, o.resume_from});
  return trainer.run();
}

}  // namespace tal
