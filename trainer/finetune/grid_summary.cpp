#include "trainer/finetune/grid_summary.h"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <set>
#include <tuple>

#include "trainer/files/finetune_statistics.h"
#include "trainer/train/format.h"
#include "trainer/train/progress.h"

namespace tal {
namespace {

std::string kind_title(const ScoreTable& t) {
  const std::string what = t.kind == "seen" ? "seen tasks" : t.kind == "held-out" ? "held-out tasks"
                                                                                  : "class-disjoint held-out tasks";
  return t.head == "own" ? what : what + " (" + t.head + " head on their new label space)";
}

void print_tables(const std::vector<ScoreTable>& tables, const std::vector<std::string>& inits, const char* title,
                  double scale) {
  for (const auto& t : tables) {
    std::printf("finetune  %s: %s, mean ± std over seeds of the mean over architectures, each at its chosen rate\n",
                kind_title(t).c_str(), title);
    std::printf("  %-30s", "task");
    for (const auto& i : inits) std::printf(" %22s", i.c_str());
    std::printf("\n");
    for (size_t r = 0; r < t.tasks.size(); ++r) {
      std::printf("  %-30s", t.tasks[r].c_str());
      for (const auto& e : t.rows[r])
        std::printf(" %22s",
                    e.present ? strf("%.2f ± %.2f @%g", scale * e.mean, scale * e.std, e.lr).c_str() : "-");
      std::printf("\n");
    }
  }
}

}  // namespace

void print_grid_summary(const FinetuneResults& results, const std::vector<std::string>& inits,
                        const std::function<bool(const FinetuneCell&)>& show) {
  FinetuneResults selected = selected_runs(results);
  selected.cells.erase(std::remove_if(selected.cells.begin(), selected.cells.end(),
                                      [&](const FinetuneCell& c) { return !show(c); }),
                       selected.cells.end());
  print_tables(score_tables(selected, inits, [](const FinetuneCell& c) { return c.final_accuracy(); }), inits,
               "final test accuracy (%)", 100);
  FinetuneResults mcc_runs = selected;
  mcc_runs.cells.erase(std::remove_if(mcc_runs.cells.begin(), mcc_runs.cells.end(),
                                      [](const FinetuneCell& c) { return c.metric != "mcc" || c.mcc.empty(); }),
                       mcc_runs.cells.end());
  if (!mcc_runs.cells.empty())
    print_tables(score_tables(mcc_runs, inits, [](const FinetuneCell& c) { return c.final_mcc(); }), inits,
                 "final test MCC (x100)", 100);

  // The initial weights' layers (protocol.h BodyStats), per initialisation.
  std::printf("finetune  initial weights' layers: mean cross-layer |cosine|, stable rank, std (over the grid's runs)\n");
  for (const auto& init : inits) {
    double cos = 0, rank = 0, sd = 0;
    int n = 0;
    for (const auto& c : selected.cells)
      if (c.init == init && c.body_cosine >= 0) cos += c.body_cosine, rank += c.body_stable_rank, sd += c.body_std, ++n;
    if (n > 0) std::printf("  %-16s cosine %.4f  stable rank %6.2f  std %.4f\n", init.c_str(), cos / n, rank / n, sd / n);
  }

  // Against a random start: paired by (task, architecture, seed), each side at its own chosen rate.
  if (std::none_of(selected.cells.begin(), selected.cells.end(), [](const FinetuneCell& c) { return c.init == "random"; }))
    return;
  std::printf("finetune  against random (final test score, points): mean paired difference [bootstrap 95%% interval], "
              "wins / pairs; all architectures | inside the training zoo | outside it\n");
  std::set<std::string> zoo_groups;
  for (const auto& c : selected.cells) zoo_groups.insert(c.in_zoo ? "in" : "out");
  for (const auto& head : head_choices(selected)) {
    const FinetuneResults view = head_view(selected, head);
    std::vector<std::string> tasks;
    for (const auto& c : view.cells)
      if (std::find(tasks.begin(), tasks.end(), c.task) == tasks.end() && (head == head_choices(selected)[0] || c.heldout))
        tasks.push_back(c.task);
    for (const auto& task : tasks)
      for (const auto& init : inits) {
        if (init == "random") continue;
        auto text = [&](const Paired& p) {
          if (p.pairs == 0) return std::string("-");
          return strf("%+.2f [%+.2f, %+.2f] %lld/%lld", 100 * p.diff.mean, 100 * p.diff.lo, 100 * p.diff.hi,
                      static_cast<long long>(p.wins), static_cast<long long>(p.pairs));
        };
        const auto all = paired_against(view, task, init, "random");
        if (all.pairs == 0) continue;
        const auto in = paired_against(view, task, init, "random", [](const FinetuneCell& c) { return c.in_zoo; });
        const auto out = paired_against(view, task, init, "random", [](const FinetuneCell& c) { return !c.in_zoo; });
        const bool has_head = std::any_of(view.cells.begin(), view.cells.end(), [&](const FinetuneCell& c) {
          return c.task == task && c.init == init && c.head != "own";
        });
        std::printf("  %-30s %-16s %-10s %-32s | %-32s | %s\n", task.c_str(), init.c_str(),
                    has_head ? (head + "-head").c_str() : "", text(all).c_str(), text(in).c_str(), text(out).c_str());
      }
  }
  std::fflush(stdout);
}

void print_method_table(const FinetuneResults& results, const std::vector<std::string>& inits,
                        const std::vector<std::string>& methods, const std::function<bool(const FinetuneCell&)>& show) {
  const FinetuneResults selected = selected_runs(results);
  std::printf("finetune  parameters per method (mean over the grid's architectures): trained | stored per task | "
              "%% of the descendant | without shared embedding tables\n");
  for (const auto& m : methods) {
    const MethodCounts n = method_counts(selected.cells, m, show);
    if (n.runs == 0) continue;
    std::printf("  %-40s %12s | %12s | %6.2f%% | %6.2f%%\n", m.c_str(), with_commas(std::llround(n.trained)).c_str(),
                with_commas(std::llround(n.stored)).c_str(), n.stored_percent(), n.stored_percent_unshared());
  }
  for (const auto& init : inits) {
    const FinetuneResults view = method_view(selected, init, show);
    if (view.cells.empty()) continue;
    print_tables(score_tables(view, methods, [](const FinetuneCell& c) { return c.final_score(); }), methods,
                 ("initialisation " + init + ": final test score by method (%; MCC x100 where the task's metric)").c_str(),
                 100);
  }
  std::fflush(stdout);
}

void print_porting_table(const FinetuneResults& results, const std::function<bool(const FinetuneCell&)>& show) {
  const FinetuneResults selected = selected_runs(results);
  std::vector<std::tuple<std::string, std::string, std::string, std::string>> rows;  // method, from, init, task
  for (const auto& c : selected.cells)
    if (show(c) && !c.port.empty()) {
      const auto row = std::make_tuple(c.method, c.port_from, c.init, c.task);
      if (std::find(rows.begin(), rows.end(), row) == rows.end()) rows.push_back(row);
    }
  std::printf("finetune  ported modules: test score (%%) at step 0 -> final, mean ± std over seeds and architectures\n");
  int from_width = 30, to_width = 34;  // wide enough for the longest name (a tuned host's)
  for (const auto& [method, from, init, task] : rows) {
    from_width = std::max(from_width, static_cast<int>(from.size()));
    to_width = std::max(to_width, static_cast<int>(init.size() + 1 + task.size()));
  }
  std::printf("  %-34s %-*s %-*s %-24s %-24s %-24s\n", "method", from_width, "from", to_width, "to", "ported", "sampled",
              "scratch");
  for (const auto& [method, from, init, task] : rows) {
    auto text = [&](const std::string& port) {
      std::vector<double> zero, last;
      for (const auto& c : selected.cells)
        if (show(c) && c.method == method && c.init == init && c.task == task && c.port == port &&
            (port.empty() || c.port_from == from)) {
          zero.push_back(100 * c.score().front());
          last.push_back(100 * c.final_score());
        }
      if (zero.empty()) return std::string("-");
      return strf("%.1f -> %.1f ± %.1f", mean(zero), mean(last), sample_std(last));
    };
    std::printf("  %-34s %-*s %-*s %-24s %-24s %-24s\n", method.c_str(), from_width, from.c_str(), to_width,
                (init + "/" + task).c_str(), text("ported").c_str(), text("sampled").c_str(), text("").c_str());
  }
  std::fflush(stdout);
}

}  // namespace tal
