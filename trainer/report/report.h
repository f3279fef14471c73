// tal report RUN_DIR: report.md and PNG plots a person reads, from a run directory's metrics.jsonl (training
// loss per stage) and, for a fine-tuning grid, its finetune.h5: accuracy vs step per initialisation for each task
// (mean and a ±std band over seeds), final accuracy by architecture size, zero-shot accuracy, steps to a fraction
// of the best final accuracy, the table of mean ± std per (task, initialisation) for seen and held-out tasks with
// the best in bold, and each hypernetwork's size and prediction time. Each plot is drawn by gnuplot from a data
// file and a script written beside it (RUN_DIR/report/NAME.dat, NAME.gp), so a user can restyle and redraw it.
#pragma once

#include <string>
#include <vector>

namespace tal {

struct ReportOptions {
  std::string run_dir;
  std::string gnuplot = "gnuplot";  // the program that draws the plots
};

// Returns the files written (report.md first). Throws naming the file for an unreadable input, and before
// writing anything when gnuplot cannot be run or the directory holds nothing to report.
std::vector<std::string> write_report(const ReportOptions& options);

}  // namespace tal
