// What every summary of a fine-tuning grid reports under the fair protocol (DESIGN.md 4.4a), as pure functions of
// the results file, shared by tal finetune's summary and tal report:
//   - the learning rate chosen per (task, initialisation, head) on the validation slice alone (test is never read);
//   - the runs at those rates, and the view of one head choice;
//   - paired differences against a baseline (normally `random`) per (task, architecture, seed), with a bootstrap 95%
//     interval of their mean and a win rate.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "trainer/files/finetune_results.h"

namespace tal {

using LrChoiceKey = std::tuple<std::string, std::string, std::string, std::string>;  // task, init, head, variant (method, port)

// Per (task, init, head, method): the learning rate whose runs have the best mean final validation score (the task's
// headline metric) over architectures and seeds; ties go to the smaller rate. Runs without a validation score (older
// files) count as their rate's only candidate.
std::map<LrChoiceKey, double> choose_learning_rates(const std::vector<FinetuneCell>& cells);

// The runs at each (task, init, head, method)'s chosen rate, in file order.
FinetuneResults selected_runs(const FinetuneResults& results);

// The runs a table with head choice `head` shows: those with that head, and those with no choice ("own").
FinetuneResults head_view(const FinetuneResults& results, const std::string& head);

// The head choices present, in a fixed order (reset, predicted), "own" alone when no run had a choice.
std::vector<std::string> head_choices(const FinetuneResults& results);

// Mean validation and test score (headline metric) per learning rate of (task, init, head), rates ascending.
struct LrPoint {
  double lr = 0, val = 0, test = 0;
  int64_t runs = 0;
};
std::vector<LrPoint> lr_curve(const FinetuneResults& results, const std::string& task, const std::string& init,
                              const std::string& head);

// A percentile bootstrap of the mean: `resamples` draws with replacement from a generator seeded by `seed`.
struct Interval {
  double mean = 0, lo = 0, hi = 0;
};
Interval bootstrap_mean(const std::vector<double>& values, uint64_t seed, int resamples = 10000);

// init minus baseline, paired by (task, architecture, seed), over the runs of `results` (already selected and of one
// head view) that `keep` admits; final headline scores, or what `value` gives.
struct Paired {
  int64_t pairs = 0, wins = 0;  // wins: the init's score strictly higher
  Interval diff;
};
Paired paired_against(const FinetuneResults& results, const std::string& task, const std::string& init,
                      const std::string& baseline, const std::function<bool(const FinetuneCell&)>& keep = {},
                      const std::function<double(const FinetuneCell&)>& value = {});

// The tables every summary shows, as data (tal finetune prints them, tal report writes them as markdown): per task
// kind (seen, held-out, class-disjoint) and head choice, rows of tasks, a column per initialisation; each entry the
// mean ± std over seeds of the mean over architectures of the runs at the chosen rate, or absent.
struct TableEntry {
  bool present = false;
  double mean = 0, std = 0, lr = 0;
};
struct ScoreTable {
  std::string kind, head;
  std::vector<std::string> tasks;
  std::vector<std::vector<TableEntry>> rows;  // [task][init]
};
// `value` picks the statistic (final accuracy, final MCC, ...); `keep` the runs (architectures in or out of the
// zoo). Seen tasks appear once, under the first head choice.
std::vector<ScoreTable> score_tables(const FinetuneResults& selected, const std::vector<std::string>& inits,
                                     const std::function<double(const FinetuneCell&)>& value,
                                     const std::function<bool(const FinetuneCell&)>& keep = {});

// A transfer method's parameter counts, averaged over the runs `keep` admits (its grid's architectures): what the
// optimiser updated, what a task stores beside the shared host, the descendant's size, and the shared embedding
// tables (GPT-2's wte + wpe) with how many of them are stored. runs == 0 when none was admitted.
struct MethodCounts {
  int64_t runs = 0;
  double trained = 0, stored = 0, params = 0, shared = 0, stored_shared = 0, suite_stored = 0;
  double stored_percent() const { return 100 * stored / params; }
  // The suite's Param Count x over `tasks` tasks: (host + what the suite stores once + each task's) / host.
  double param_count_x(size_t tasks) const {
    return (params + suite_stored + static_cast<double>(tasks) * stored) / params;
  }
  // Stored as a share of the descendant, both without the shared tables (equal to stored_percent without any).
  double stored_percent_unshared() const {
    return params > shared ? 100 * (stored - stored_shared) / (params - shared) : 0.0;
  }
};
MethodCounts method_counts(const std::vector<FinetuneCell>& cells, const std::string& method,
                           const std::function<bool(const FinetuneCell&)>& keep = {});

// One initialisation's runs with the method in the init's place, so that score_tables gives a column per method.
FinetuneResults method_view(const FinetuneResults& selected, const std::string& init,
                            const std::function<bool(const FinetuneCell&)>& keep = {});

// The task kinds in their reporting order, and the tasks of each kind in file order.
const std::vector<std::string>& task_kinds();

}  // namespace tal
