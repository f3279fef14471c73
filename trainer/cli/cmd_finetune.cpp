// tal finetune: the fine-tuning grid (one process or many ranks). tal report: report.md and plots of a run.
#include <ATen/Parallel.h>

#include <cstdio>

#include "base/error.h"
#include "trainer/cli/commands.h"
#include "trainer/cli/runtime.h"
#include "trainer/config/command_line.h"
#include "trainer/config/commands.h"
#include "trainer/finetune/finetune.h"
#include "trainer/report/report.h"
#include "trainer/train/preemption.h"

namespace tal {

int run_finetune(const Args& args, Runtime& runtime) {
  const auto table = command_table("finetune");
  const auto parsed = command_options(
      table, args,
      "tal finetune --config configs/finetune_fmnist.yaml [key=value ...] [--save-weights ARCHIVE.h5]\n"
      "exit codes: 0 done, 1 error, 75 preempted (finished runs kept; run again to finish the grid)");
  if (!parsed) return 0;
  const auto& o = *parsed;
  if (o.threads > 0) at::set_num_threads(static_cast<int>(o.threads));
  install_preemption_handlers();
  auto& dist = runtime.dist(o.dist);
  return run_finetune_grid(o, table.dump(o), dist.comm());
}

int run_report(const Args& args) {
  ReportOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::printf("usage: tal report RUN_DIR [--gnuplot PROGRAM]\n"
                  "writes RUN_DIR/report.md and RUN_DIR/report/*.png (each with its .dat and .gp beside it)\n");
      return 0;
    }
    if (args[i] == "--gnuplot") {
      TAL_REQUIRE(i + 1 < args.size(), "command line: --gnuplot needs a program");
      o.gnuplot = args[++i];
    } else {
      TAL_REQUIRE(o.run_dir.empty(), "command line: unexpected argument '", args[i], "' (usage: tal report RUN_DIR)");
      o.run_dir = args[i];
    }
  }
  TAL_REQUIRE(!o.run_dir.empty(), "command line: usage: tal report RUN_DIR [--gnuplot PROGRAM]");
  const auto written = write_report(o);
  std::printf("report: wrote %s (%zu files in %s/report)\n", written.front().c_str(), written.size() - 1,
              o.run_dir.c_str());
  return 0;
}

}  // namespace tal
