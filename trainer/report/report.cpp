#include "trainer/report/report.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <tuple>

#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "base/error.h"
#include "datasets/atomic_file.h"
#include "hypernet/arch_spec.h"
#include "trainer/files/finetune_results.h"
#include "trainer/files/finetune_statistics.h"
#include "trainer/files/metrics_log.h"
#include "trainer/files/safetensors.h"

namespace tal {
namespace fs = std::filesystem;
namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}


// One plot: its data file, its script, and the PNG gnuplot draws from them.
class Plots {
 public:
  Plots(std::string dir, std::string gnuplot) : dir_(std::move(dir)), gnuplot_(std::move(gnuplot)) {}
  // `script` is the body after the terminal and output lines; it reads NAME.dat.
  std::string draw(const std::string& name, const std::string& data, const std::string& script) {
    const std::string dat = dir_ + "/" + name + ".dat", gp = dir_ + "/" + name + ".gp", png = dir_ + "/" + name + ".png";
    write_text(dat, data);
    write_text(gp, "# Redraw with: gnuplot " + name + ".gp (from this directory)\n"
                   "set terminal png size 960,560 font ',11'\nset output '" + name + ".png'\n"
                   "set grid\nset key outside right top\n" + script);
    const std::string cmd = "cd '" + dir_ + "' && '" + gnuplot_ + "' '" + name + ".gp' > '" + name + ".log' 2>&1";
    const int rc = std::system(cmd.c_str());
    if (rc != 0 || !fs::exists(png)) {  // what gnuplot said (its folder is removed when the report fails)
      std::ifstream log(dir_ + "/" + name + ".log");
      std::string line, said;
      while (std::getline(log, line))
        if (!line.empty()) said = line;
      throw Error("tal report: gnuplot failed on " + name + ".gp" +
                  (said.empty() ? std::string() : ": " + said.substr(0, 200)));
    }
    fs::remove(dir_ + "/" + name + ".log");
    written_.push_back(png);
    return "report/" + name + ".png";
  }
  const std::vector<std::string>& written() const { return written_; }

 private:
  void write_text(const std::string& path, const std::string& text) {
    write_atomically(path, [&](const std::string& tmp) {
      std::ofstream out(tmp);
      out << text;
      TAL_REQUIRE(out.good(), tmp, ": write failed");
    });
    written_.push_back(path);
  }
  std::string dir_, gnuplot_;
  std::vector<std::string> written_;
};

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

// Names safe as file names.
std::string slug(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return out;
}

void report_losses(const std::map<std::string, std::vector<LossPoint>>& losses, Plots& plots, std::ostream& md) {
  std::ostringstream data, script;
  script << "set title 'Training loss per stage'\nset xlabel 'step'\nset ylabel 'loss'\nplot ";
  int block = 0;
  for (const auto& [stage, pts] : losses) {
    data << "# " << stage << "\n";
    for (const auto& p : pts) data << p.step << " " << p.loss << "\n";
    data << "\n\n";
    script << (block ? ", " : "") << "'loss.dat' index " << block << " using 1:2 with lines lw 2 title " << quoted(stage);
    ++block;
  }
  script << "\n";
  md << "## Training loss\n\n![training loss](" << plots.draw("loss", data.str(), script.str()) << ")\n\n";
  md << "| stage | logged steps | first loss | last loss |\n|---|---|---|---|\n";
  for (const auto& [stage, pts] : losses)
    md << "| " << stage << " | " << pts.size() << " | " << fmt("%.4f", pts.front().loss) << " | "
       << fmt("%.4f", pts.back().loss) << " |\n";
  md << "\n";
}

// One markdown table per head choice: the seen tasks first (they have no choice), then the held-out and the
// class-disjoint held-out tasks under that choice.
void write_tables(const std::vector<ScoreTable>& tables, const std::vector<std::string>& inits,
                  const std::string& title, const std::string& unit, std::ostream& md) {
  std::vector<std::string> heads;
  for (const auto& t : tables)
    if (t.head != "own" && std::find(heads.begin(), heads.end(), t.head) == heads.end()) heads.push_back(t.head);
  if (heads.empty()) heads.push_back("own");
  for (const auto& head : heads) {
    md << "### " << title << " (" << unit << ", mean ± std over seeds of the mean over architectures, each "
       << "initialisation at its chosen rate" << (head == "own" ? "" : "; " + head + " head on a new label space")
       << ")\n\n| task | kind |";
    for (const auto& i : inits) md << " " << i << " |";
    md << "\n|---|---|";
    for (size_t i = 0; i < inits.size(); ++i) md << "---|";
    md << "\n";
    for (const auto& t : tables) {
      if (t.head != head && t.head != "own") continue;
      for (size_t r = 0; r < t.tasks.size(); ++r) {
        double best = -1e300;
        for (const auto& e : t.rows[r])
          if (e.present) best = std::max(best, e.mean);
        md << "| " << t.tasks[r] << " | " << t.kind << " |";
        for (const auto& e : t.rows[r]) {
          if (!e.present) {
            md << " - |";
            continue;
          }
          const std::string cell = fmt("%.2f", 100 * e.mean) + " ± " + fmt("%.2f", 100 * e.std);
          md << " " << (e.mean >= best - 1e-12 ? "**" + cell + "**" : cell) << " |";
        }
        md << "\n";
      }
    }
    md << "\n";
  }
}

std::string paired_text(const Paired& p) {
  if (p.pairs == 0) return "-";
  return fmt("%+.2f", 100 * p.diff.mean) + " [" + fmt("%+.2f", 100 * p.diff.lo) + ", " + fmt("%+.2f", 100 * p.diff.hi) +
         "], " + std::to_string(p.wins) + "/" + std::to_string(p.pairs);
}

void report_finetune(const FinetuneResults& all_runs, Plots& plots, std::ostream& md) {
  // Every figure below is of the runs at the learning rate each (task, initialisation, head) chose on validation.
  const FinetuneResults r = selected_runs(all_runs);
  std::vector<std::string> inits;  // in the grid's order of first appearance
  std::vector<std::string> tasks;
  std::map<std::string, bool> heldout;
  for (const auto& i : r.inits) inits.push_back(i.name);
  for (const auto& c : r.cells) {
    if (std::find(inits.begin(), inits.end(), c.init) == inits.end()) inits.push_back(c.init);
    if (std::find(tasks.begin(), tasks.end(), c.task) == tasks.end()) tasks.push_back(c.task);
    heldout[c.task] = c.heldout;
  }
  std::set<int64_t> seeds;
  std::set<double> rates;
  std::map<std::string, int64_t> arch_params;
  std::map<std::string, bool> arch_in_zoo;
  for (const auto& c : all_runs.cells) {
    seeds.insert(c.seed);
    rates.insert(c.lr);
    arch_params[c.arch] = std::max(arch_params[c.arch], c.params);
    arch_in_zoo[c.arch] = c.in_zoo;
  }
  const std::vector<int64_t>& steps = r.cells.front().eval_steps;
  md << "## Fine-tuning\n\n" << all_runs.cells.size() << " runs: " << tasks.size() << " task(s) x "
     << arch_params.size() << " architecture(s) x " << inits.size() << " initialisation(s) x " << rates.size()
     << " learning rate(s) x " << seeds.size() << " seed(s), and the head choices on held-out tasks. Recipe: `"
     << all_runs.recipe << "`.\n\n"
     << "Protocol: every choice is made on a validation slice of each task's training split, never trained on; each "
        "(task, initialisation, head) is reported at the learning rate with the best mean final validation score; "
        "test is read only for the figures below.\n\n";

  std::map<std::string, bool> mcc_task;
  FinetuneResults with_mcc = r;  // the runs that have an MCC curve (every classification run since version 2)
  with_mcc.cells.clear();
  for (const auto& c : r.cells) {
    mcc_task[c.task] = mcc_task[c.task] || c.metric == "mcc";
    if (!c.mcc.empty() && c.metric == "mcc") with_mcc.cells.push_back(c);
  }
  write_tables(score_tables(r, inits, [](const FinetuneCell& c) { return c.final_accuracy(); }), inits,
               "Final test accuracy", "%", md);
  if (!with_mcc.cells.empty())
    write_tables(score_tables(with_mcc, inits, [](const FinetuneCell& c) { return c.final_mcc(); }), inits,
                 "Final test MCC", "x100", md);
  const bool both_zoo_sides = std::any_of(r.cells.begin(), r.cells.end(), [](const FinetuneCell& c) { return c.in_zoo; }) &&
                              std::any_of(r.cells.begin(), r.cells.end(), [](const FinetuneCell& c) { return !c.in_zoo; });
  if (both_zoo_sides)
    for (const bool inside : {true, false})
      write_tables(score_tables(r, inits, [](const FinetuneCell& c) { return c.final_score(); },
                                [inside](const FinetuneCell& c) { return c.in_zoo == inside; }),
                   inits, std::string("Final test score, architectures ") + (inside ? "inside" : "outside") +
                              " the hypernetworks' training zoo",
                   "%", md);

  // Against random: paired differences and win rates.
  if (std::any_of(r.cells.begin(), r.cells.end(), [](const FinetuneCell& c) { return c.init == "random"; })) {
    md << "### Against a random start\n\nFinal test score (points) minus `random`'s, paired by (task, architecture, "
          "seed), each side at its own chosen rate: mean [bootstrap 95% interval], wins / pairs.\n\n"
          "| task | initialisation | head | all architectures | inside the training zoo | outside it |\n"
          "|---|---|---|---|---|---|\n";
    const auto heads = head_choices(r);
    for (const auto& head : heads) {
      const FinetuneResults view = head_view(r, head);
      for (const auto& t : tasks) {
        if (head != heads.front() && !heldout[t]) continue;
        for (const auto& init : inits) {
          if (init == "random") continue;
          const auto all = paired_against(view, t, init, "random");
          if (all.pairs == 0) continue;
          const bool has_head = std::any_of(view.cells.begin(), view.cells.end(), [&](const FinetuneCell& c) {
            return c.task == t && c.init == init && c.head != "own";
          });
          md << "| " << t << " | " << init << " | " << (has_head ? head : "-") << " | " << paired_text(all) << " | "
             << paired_text(paired_against(view, t, init, "random", [](const FinetuneCell& c) { return c.in_zoo; }))
             << " | "
             << paired_text(paired_against(view, t, init, "random", [](const FinetuneCell& c) { return !c.in_zoo; }))
             << " |\n";
        }
      }
    }
    md << "\n";
  }

  // The learning rates: every rate's mean validation (and test) score, and the one chosen.
  {
    md << "### Learning rates chosen on validation\n\n| task | initialisation | head | chosen |";
    for (const double lr : rates) md << " val @" << fmt("%g", lr) << " |";
    md << "\n|---|---|---|---|";
    for (size_t i = 0; i < rates.size(); ++i) md << "---|";
    md << "\n";
    const auto chosen = choose_learning_rates(all_runs.cells);
    for (const auto& [key, lr] : chosen) {
      const auto& [task, init, head, method] = key;
      md << "| " << task << " | " << init << " | " << (head == "own" ? "-" : head) << " | " << fmt("%g", lr) << " |";
      const auto curve = lr_curve(all_runs, task, init, head);
      for (const double rate : rates) {
        const auto it = std::find_if(curve.begin(), curve.end(), [&](const LrPoint& p) { return p.lr == rate; });
        md << " " << (it == curve.end() ? "-" : fmt("%.2f", 100 * it->val)) << " |";
      }
      md << "\n";
    }
    md << "\n";
    if (rates.size() > 1)
      for (const auto& t : tasks) {
        std::ostringstream data, script;
        const std::string file = "lr_" + slug(t) + ".dat";
        script << "set title " << quoted("Validation score vs learning rate: " + t) << "\nset logscale x\n"
               << "set xlabel 'peak learning rate'\nset ylabel 'final validation score (%)'\nplot ";
        int block = 0;
        for (const auto& [key, lr] : chosen) {
          const auto& [task, init, head, method] = key;
          if (task != t) continue;
          data << "# " << init << (head == "own" ? "" : " (" + head + " head)") << ": lr val test (chosen " << lr << ")\n";
          for (const auto& p : lr_curve(all_runs, task, init, head))
            data << p.lr << " " << 100 * p.val << " " << 100 * p.test << "\n";
          data << "\n\n";
          script << (block ? ", " : "") << "'" << file << "' index " << block << " using 1:2 with linespoints lw 2 title "
                 << quoted(init + (head == "own" ? "" : " (" + head + " head)"));
          ++block;
        }
        script << "\n";
        md << "![validation score vs learning rate, " << t << "](" << plots.draw("lr_" + slug(t), data.str(), script.str())
           << ")\n\n";
      }
  }

  // The plots show the first head choice's runs (the tables above have both).
  const std::string first_head = head_choices(r).front();
  const FinetuneResults pv = head_view(r, first_head);
  // The headline metric vs step per initialisation, one plot per task (accuracy, or MCC x 100).
  for (const auto& t : tasks) {
    std::ostringstream data, script;
    const std::string metric = mcc_task[t] ? "test MCC (x100)" : "test accuracy (%)";
    script << "set title " << quoted((mcc_task[t] ? "Test MCC" : "Test accuracy") + std::string(" while fine-tuning: ") + t +
                                     (heldout[t] ? " (held-out)" : ""))
           << "\nset xlabel 'fine-tuning step'\nset ylabel " << quoted(metric)
           << "\nset style fill transparent solid 0.12 noborder\nplot ";
    const std::string file = "curve_" + slug(t) + ".dat";
    std::ostringstream bands, lines;
    int block = 0;
    for (const auto& init : inits) {
      data << "# " << init << ": step mean std (over seeds of the mean over architectures)\n";
      for (size_t k = 0; k < steps.size(); ++k) {
        const auto v = seed_means(mcc_task[t] ? head_view(with_mcc, first_head) : pv, t, init,
                                  [&](const FinetuneCell& c) { return (mcc_task[t] ? c.mcc : c.accuracy).at(k); });
        if (v.empty())
          data << steps[k] << " NaN NaN\n";  // gnuplot leaves undefined points out
        else
          data << steps[k] << " " << 100 * mean(v) << " " << 100 * sample_std(v) << "\n";
      }
      data << "\n\n";
      bands << "'" << file << "' index " << block << " using 1:($2-$3):($2+$3) with filledcurves lc " << block + 1
            << " notitle, ";
      lines << (block ? ", " : "") << "'" << file << "' index " << block << " using 1:2 with linespoints lw 2 lc "
            << block + 1 << " title " << quoted(init);
      ++block;
    }
    script << bands.str() << lines.str();
    script << "\n";
    md << "![" << (mcc_task[t] ? "MCC" : "accuracy") << " vs step, " << t << "](" << plots.draw("curve_" + slug(t), data.str(), script.str()) << ")\n\n";
  }

  // Final accuracy by architecture size.
  {
    std::vector<std::pair<int64_t, std::string>> by_size;
    for (const auto& [a, p] : arch_params) by_size.push_back({p, a});
    std::sort(by_size.begin(), by_size.end());
    std::ostringstream data, script;
    data << "# architecture index, parameters, then per initialisation: mean final accuracy (%) over tasks and seeds\n";
    for (size_t k = 0; k < by_size.size(); ++k) {
      data << k << " " << by_size[k].first;
      for (const auto& init : inits) {
        std::vector<double> v;
        for (const auto& c : pv.cells)
          if (c.arch == by_size[k].second && c.init == init) v.push_back(c.final_accuracy());
        if (v.empty())
          data << " NaN";
        else
          data << " " << 100 * mean(v);
      }
      data << "  # " << by_size[k].second << "\n";
    }
    script << "set title 'Final test accuracy by architecture (mean over tasks and seeds)'\n"
           << "set xlabel 'architecture (parameters of the largest task head)'\nset ylabel 'final test accuracy (%)'\nset xtics rotate by -30\n"
           << "set xtics (";
    for (size_t k = 0; k < by_size.size(); ++k)
      script << (k ? ", " : "") << quoted(fmt("%.0fk", static_cast<double>(by_size[k].first) / 1000)) << " " << k;
    script << ")\nplot ";
    for (size_t i = 0; i < inits.size(); ++i)
      script << (i ? ", " : "") << "'final_by_arch.dat' using 1:" << i + 3 << " with linespoints lw 2 title "
             << quoted(inits[i]);
    script << "\n";
    md << "### Final accuracy by architecture\n\n![final accuracy by architecture]("
       << plots.draw("final_by_arch", data.str(), script.str()) << ")\n\n| architecture | parameters |\n|---|---|\n";
    for (const auto& [p, a] : by_size) md << "| `" << a << "` | " << p << " |\n";
    md << "\n";
  }

  // Zero-shot accuracy and steps to 90% of the best final accuracy, as bars per initialisation.
  const size_t f90 = static_cast<size_t>(
      std::find_if(r.fractions.begin(), r.fractions.end(), [](double f) { return std::abs(f - 0.9) < 1e-9; }) -
      r.fractions.begin());
  auto bars = [&](const std::string& name, const std::string& title, const std::string& ylabel, auto value) {
    std::ostringstream data, script;
    data << "# initialisation, seen tasks mean std, held-out tasks mean std\n";
    for (const auto& init : inits) {
      data << quoted(init);
      for (const bool held : {false, true}) {
        std::vector<double> v;
        for (const auto& c : pv.cells)
          if (c.init == init && c.heldout == held) v.push_back(value(c));
        if (v.empty())
          data << " NaN NaN";
        else
          data << " " << mean(v) << " " << sample_std(v);
      }
      data << "\n";
    }
    // Only the groups the grid has: gnuplot refuses a histogram column without a valid point.
    bool seen = false, held_out = false;
    for (const auto& c : pv.cells) (c.heldout ? held_out : seen) = true;
    script << "set title " << quoted(title) << "\nset ylabel " << quoted(ylabel)
           << "\nset style data histograms\nset style histogram errorbars gap 2 lw 1\nset style fill solid 0.7 border -1\n"
           << "set xtics rotate by -30\nset yrange [0:*]\nplot '" << name << ".dat' "
           << (seen ? "using 2:3:xtic(1) title 'seen tasks'" : "")
           << (seen && held_out ? ", '' " : "")
           << (held_out ? "using 4:5" + std::string(seen ? "" : ":xtic(1)") + " title 'held-out tasks'" : "") << "\n";
    return plots.draw(name, data.str(), script.str());
  };
  md << "### Zero-shot accuracy (before any fine-tuning)\n\n!["
     << "zero-shot](" << bars("zero_shot", "Zero-shot test accuracy", "test accuracy (%)", [](const FinetuneCell& c) {
          return 100 * c.zero_shot();
        }) << ")\n\n";
  if (f90 < r.fractions.size()) {
    const int64_t budget = steps.back();
    md << "### Steps to 90% of the best final score\n\nThe best final score (accuracy, or MCC for the tasks that name "
          "it) of a (task, architecture) is the best initialisation's mean over seeds; a run that never reaches 90% of "
          "it counts as the whole budget ("
       << budget << " steps).\n\n![steps to 90%]("
       << bars("steps_to", "Fine-tuning steps to 90% of the best final score", "steps", [&](const FinetuneCell& c) {
            return static_cast<double>(c.steps_to.at(f90) < 0 ? budget : c.steps_to.at(f90));
          })
       << ")\n\n";
  }

  // The layers of the initial weights: how alike a hypernetwork makes them, beside random and weight selection.
  if (std::any_of(pv.cells.begin(), pv.cells.end(), [](const FinetuneCell& c) { return c.body_cosine >= 0; })) {
    md << "### The initial weights' layers\n\nOver the weight matrices repeated across layers (each layer's `mlp.0.weight`, "
          "`in_proj_weight`, ...), before any fine-tuning: the mean |cosine| between two layers' copies, the mean "
          "stable rank (||W||_F^2 / ||W||_2^2) and the mean standard deviation; mean over the grid's runs.\n\n"
          "| initialisation | cross-layer cosine | stable rank | std |\n|---|---|---|---|\n";
    for (const auto& init : inits) {
      std::vector<double> cos, rank, sd;
      for (const auto& c : pv.cells)
        if (c.init == init && c.body_cosine >= 0) {
          cos.push_back(c.body_cosine);
          rank.push_back(c.body_stable_rank);
          sd.push_back(c.body_std);
        }
      if (!cos.empty())
        md << "| " << init << " | " << fmt("%.4f", mean(cos)) << " | " << fmt("%.2f", mean(rank)) << " | "
           << fmt("%.4f", mean(sd)) << " |\n";
    }
    md << "\n";
  }

  md << "### Where the initial weights came from\n\n| initialisation | source | step | hypernet parameters | "
        "time to make one descendant's weights |\n|---|---|---|---|---|\n";
  for (const auto& i : r.inits)
    md << "| " << i.name << " | " << (i.source.empty() ? "-" : "`" + i.source + "`") << " | " << i.source_step << " | "
       << (i.hypernet_params > 0 ? std::to_string(i.hypernet_params) : "-") << " | " << fmt("%.1f ms", i.predict_ms)
       << " |\n";
  md << "\n";
}

// Transfer methods (finetune.methods): per initialisation, the task x method table of final scores (each method at
// the rate its validation slice chose), the parameter counts with the suite's Param Count x, and accuracy against
// stored parameters per task (log scale), one plot per initialisation.
void report_transfer(const FinetuneResults& all_runs, Plots& plots, std::ostream& md) {
  FinetuneResults r = selected_runs(all_runs);
  r.cells.erase(std::remove_if(r.cells.begin(), r.cells.end(), [](const FinetuneCell& c) { return !c.port.empty(); }),
                r.cells.end());  // ported modules have their own section
  std::vector<std::string> methods, inits, tasks;
  auto add = [](std::vector<std::string>& v, const std::string& x) {
    if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
  };
  for (const auto& c : r.cells) add(methods, c.method), add(inits, c.init), add(tasks, c.task);
  md << "## Transfer methods\n\nEach descendant adapted by each method (`finetune.methods`), every method at the "
        "learning rate its validation slice chose, mean ± std over seeds of the mean over architectures (MCC x100 "
        "where the task's metric is MCC). Counts are per run, averaged over the grid's architectures: *trained* is what "
        "the optimiser updated, *stored* what a task must keep beside the shared host; *Param Count x* is (host + what the "
        "suite stores once, such as ScaLearn's source adapters + every task's stored parameters) / host over the file's "
     << tasks.size() << " task(s).\n\n";
  md << "| method | trained | stored per task | % of the descendant | % without shared embedding tables | Param Count x "
        "|\n|---|---|---|---|---|---|\n";
  std::map<std::string, double> stored_of, count_x_of;
  for (const auto& m : methods) {
    const MethodCounts n = method_counts(r.cells, m);
    stored_of[m] = n.stored;
    count_x_of[m] = n.param_count_x(tasks.size());
    md << "| `" << m << "` | " << fmt("%.0f", n.trained) << " | " << fmt("%.0f", n.stored) << " | "
       << fmt("%.2f", n.stored_percent()) << " | "
       << (n.shared > 0 ? fmt("%.2f", n.stored_percent_unshared()) : std::string("-")) << " | "
       << fmt("%.2f", n.param_count_x(tasks.size())) << " |\n";
  }
  md << "\n";
  for (const auto& init : inits) {
    const FinetuneResults view = method_view(r, init);
    md << "### Initialisation `" << init << "`\n\n";
    write_tables(score_tables(view, methods, [](const FinetuneCell& c) { return c.final_score(); }), methods,
                 "Final test score by method", "%", md);
    std::ostringstream data, script;
    data << "# stored parameters per task, mean final score over tasks and seeds (%), method\n";
    for (const auto& m : methods) {
      std::vector<double> v;
      for (const auto& c : view.cells)
        if (c.init == m) v.push_back(100 * c.final_score());
      if (!v.empty()) data << stored_of[m] << " " << mean(v) << " " << quoted(m) << "\n";
    }
    script << "set title " << quoted("Accuracy vs stored parameters per task: " + init)
           << "\nset logscale x\nset xlabel 'stored parameters per task'\nset ylabel 'final test score (%)'\n"
           << "set offsets graph 0.05, graph 0.25, graph 0.05, graph 0.05\nunset key\n"
           << "plot '" << "transfer_" << slug(init) << ".dat' using 1:2 with points pt 7 ps 1.5, '' using 1:2:3 with "
           << "labels offset 1,0.8 left\n";
    md << "![accuracy vs stored parameters](" << plots.draw("transfer_" + slug(init), data.str(), script.str())
       << ")\n\n";
    // The suite's view: accuracy against Param Count x, seen and held-out targets apart.
    std::ostringstream suite, suite_script;
    suite << "# Param Count x, mean final score (%) on seen targets, on held-out targets (NaN: none), method\n";
    for (const auto& m : methods) {
      std::vector<double> seen, heldout;
      for (const auto& c : view.cells)
        if (c.init == m) (c.task_kind == "seen" ? seen : heldout).push_back(100 * c.final_score());
      suite << count_x_of[m] << " " << (seen.empty() ? std::string("NaN") : fmt("%.4f", mean(seen))) << " "
            << (heldout.empty() ? std::string("NaN") : fmt("%.4f", mean(heldout))) << " " << quoted(m) << "\n";
    }
    suite_script << "set title " << quoted("Accuracy vs Param Count x over the suite: " + init)
                 << "\nset logscale x\nset xlabel 'Param Count x (host + what the suite stores) / host'\n"
                 << "set ylabel 'final test score (%)'\nset offsets graph 0.05, graph 0.25, graph 0.05, graph 0.05\n"
                 << "plot 'suite_" << slug(init) << ".dat' using 1:2 with points pt 7 ps 1.5 title 'seen targets', "
                 << "'' using 1:3 with points pt 5 ps 1.5 title 'held-out targets', '' using 1:2:4 with labels offset "
                 << "1,0.8 left notitle\n";
    md << "![accuracy vs Param Count x](" << plots.draw("suite_" + slug(init), suite.str(), suite_script.str())
       << ")\n\n";
  }
  // Each method against the grid's baseline method (full where present), paired by (task, architecture, seed).
  const std::string base = std::find(methods.begin(), methods.end(), "full") != methods.end() ? "full" : methods.front();
  md << "### Against `" << base << "`\n\nFinal test score (MCC x100 where the task's metric) of each method minus `" << base
     << "`'s, paired by task, architecture and seed, each at its chosen rate: mean difference in points [bootstrap 95% "
        "interval], wins / pairs.\n\n| initialisation | task | method | difference |\n|---|---|---|---|\n";
  for (const auto& init : inits) {
    const FinetuneResults view = method_view(r, init);
    for (const auto& t : tasks)
      for (const auto& m : methods)
        if (m != base)
          if (const Paired p = paired_against(view, t, m, base); p.pairs > 0)
            md << "| " << init << " | " << t << " | `" << m << "` | " << paired_text(p) << " |\n";
  }
  md << "\n";
}

// Ported modules: per method, origin and destination, the score at step 0 (the zero-shot port) and at the end for
// the modules ported, sampled and trained from their own initialisation (scratch); bars of step 0 and the curves
// (mean over destinations and seeds) per method.
// ScaLearn's scales: per initialisation and variant, the mean over channels and seeds of ω_{l,k} for every target task
// and block l (rows) and source task k (columns), from the scales each run kept in RUN/modules/ (one row "all" for a
// variant shared by every block).
void report_scales(const FinetuneResults& all_runs, const std::string& run_dir, Plots& plots, std::ostream& md) {
  const FinetuneResults r = selected_runs(all_runs);
  std::vector<std::pair<std::string, std::string>> groups;  // (init, method)
  for (const auto& c : r.cells)
    if (c.method.rfind("scalearn:", 0) == 0 && c.port.empty() &&
        std::find(groups.begin(), groups.end(), std::make_pair(c.init, c.method)) == groups.end())
      groups.emplace_back(c.init, c.method);
  if (groups.empty()) return;
  md << "## ScaLearn's scales\n\nThe learned scale of each source task's adapter in each block (mean over channels "
        "and seeds of ω, each run at its chosen rate): rows are target task and block, columns the source tasks. "
        "One-hot on the target's own adapter would be that adapter alone; 0 ignores a source.\n\n";
  for (const auto& [init, method] : groups) {
    std::vector<std::string> sources, rows;
    std::map<std::pair<std::string, std::string>, std::pair<double, int>> sum;  // (row, source) -> (sum, n)
    size_t missing = 0;
    for (const auto& c : r.cells) {
      if (c.init != init || c.method != method || !c.port.empty()) continue;
      const std::string path = kept_modules_path(run_dir, c.key);
      if (!fs::exists(path)) {
        ++missing;
        continue;
      }
      const SafetensorsFile f = read_safetensors(path);
      const auto it = f.metadata.find("sources");
      TAL_REQUIRE(it != f.metadata.end(), path, ": no 'sources' in its metadata (not a multi-task run's modules)");
      std::vector<std::string> names;
      std::stringstream list(it->second);
      for (std::string s; std::getline(list, s, ',');) names.push_back(s);
      if (sources.empty()) sources = names;
      TAL_REQUIRE(names == sources, path, ": its sources differ from the other runs' of ", method);
      for (const auto& [name, omega] : f.tensors) {
        const std::string tail = "scalearn.omega";
        if (name.size() < tail.size() || name.compare(name.size() - tail.size(), tail.size(), tail) != 0) continue;
        TAL_REQUIRE(omega.dim() >= 1 && omega.size(0) == static_cast<int64_t>(names.size()), path, ": ", name,
                    " has ", omega.dim() >= 1 ? omega.size(0) : 0, " rows for ", names.size(), " sources");
        std::string block = "all";  // the block's number: the last number in the tensor's name
        const auto digit = name.find_last_of("0123456789");
        if (digit != std::string::npos) {
          auto first = digit;
          while (first > 0 && std::isdigit(static_cast<unsigned char>(name[first - 1]))) --first;
          block = "L" + name.substr(first, digit - first + 1);
        }
        const std::string row = c.task + " " + block;
        if (std::find(rows.begin(), rows.end(), row) == rows.end()) rows.push_back(row);
        const auto per_source = omega.to(at::kDouble).reshape({omega.size(0), -1}).mean(1);
        for (size_t k = 0; k < names.size(); ++k) {
          auto& [s, n] = sum[{row, names[k]}];
          s += per_source[static_cast<int64_t>(k)].item<double>();
          ++n;
        }
      }
    }
    md << "### `" << init << "`, `" << method << "`\n\n";
    if (rows.empty()) {
      md << "No run kept its scales (" << missing << " without `modules/` files).\n\n";
      continue;
    }
    std::sort(rows.begin(), rows.end());
    md << "| target, block |";
    for (const auto& s : sources) md << " " << s << " |";
    md << "\n|---|";
    for (size_t k = 0; k < sources.size(); ++k) md << "---|";
    md << "\n";
    std::ostringstream data;
    data << "# rows: target task and block; columns: source tasks; mean scale\n";
    for (const auto& row : rows) {
      md << "| " << row << " |";
      for (size_t k = 0; k < sources.size(); ++k) {
        const auto& [s, n] = sum[{row, sources[k]}];
        md << " " << fmt("%.3f", s / n) << " |";
        data << (k ? " " : "") << s / n;
      }
      md << "\n";
      data << "\n";
    }
    std::ostringstream script, xtics, ytics;
    for (size_t k = 0; k < sources.size(); ++k) xtics << (k ? ", " : "") << quoted(sources[k]) << " " << k;
    for (size_t i = 0; i < rows.size(); ++i) ytics << (i ? ", " : "") << quoted(rows[i]) << " " << i;
    script << "set title " << quoted("ScaLearn's scales: " + init + ", " + method) << "\nunset grid\nset xtics ("
           << xtics.str() << ") rotate by -30\nset ytics (" << ytics.str() << ")\nset yrange [-0.5:"
           << rows.size() - 0.5 << "] reverse\nset xrange [-0.5:" << sources.size() - 0.5
           << "]\nset palette defined (-1 'blue', 0 'white', 1 'red')\nplot '" << "scales_" << slug(init + "_" + method)
           << ".dat' matrix with image notitle\n";
    md << "\n![ScaLearn's scales](" << plots.draw("scales_" + slug(init + "_" + method), data.str(), script.str())
       << ")\n\n";
  }
}

// TAPS: which layers became task-specific. Per initialisation, method and task, the share of each block's four
// adaptable weights (q|k|v, out, fc1, fc2) whose score ended at or above tau, over seeds (each run at its chosen
// rate), from the scores each run kept in RUN/modules/.
void report_taps(const FinetuneResults& all_runs, const std::string& run_dir, std::ostream& md) {
  const FinetuneResults r = selected_runs(all_runs);
  std::vector<std::tuple<std::string, std::string, std::string>> rows;  // (init, method, task)
  std::map<std::tuple<std::string, std::string, std::string>, std::map<int, std::pair<int, int>>> active;  // block ->
  int blocks = 0;                                                                                    // (on, all)
  for (const auto& c : r.cells) {
    if (c.method.rfind("taps:", 0) != 0 || !c.port.empty()) continue;
    const std::string path = kept_modules_path(run_dir, c.key);
    if (!fs::exists(path)) continue;
    const auto tau_at = c.method.find("tau=");
    const double tau = tau_at == std::string::npos ? 0.1 : std::atof(c.method.c_str() + tau_at + 4);
    const auto row = std::make_tuple(c.init, c.method, c.task);
    if (std::find(rows.begin(), rows.end(), row) == rows.end()) rows.push_back(row);
    for (const auto& [name, score] : read_safetensors(path).tensors) {
      const std::string tail = ".taps_score";
      if (name.size() < tail.size() || name.compare(name.size() - tail.size(), tail.size(), tail) != 0) continue;
      const auto digit = name.find_first_of("0123456789");  // the block: the first number in the weight's name
      TAL_REQUIRE(digit != std::string::npos && score.numel() == 1, path, ": ", name, " is not one block's score");
      const int block = std::atoi(name.c_str() + digit);
      blocks = std::max(blocks, block + 1);
      auto& [on, all] = active[row][block];
      on += score.item<double>() >= tau;
      ++all;
    }
  }
  if (rows.empty()) return;
  md << "## TAPS: the layers that became task-specific\n\nThe share of each block's adaptable weights (q | k | v, "
        "out, fc1, fc2) whose score ended at or above tau, over seeds, each run at its chosen rate: 1 is a block the "
        "task rewrote whole, 0 one it shares with the host.\n\n| initialisation | method | task |";
  for (int l = 0; l < blocks; ++l) md << " block " << l << " |";
  md << " all |\n|---|---|---|";
  for (int l = 0; l <= blocks; ++l) md << "---|";
  md << "\n";
  for (const auto& row : rows) {
    md << "| " << std::get<0>(row) << " | `" << std::get<1>(row) << "` | " << std::get<2>(row) << " |";
    int on_all = 0, all_all = 0;
    for (int l = 0; l < blocks; ++l) {
      const auto [on, all] = active[row][l];
      md << " " << (all ? fmt("%.2f", static_cast<double>(on) / all) : std::string("-")) << " |";
      on_all += on, all_all += all;
    }
    md << " " << fmt("%.2f", static_cast<double>(on_all) / std::max(all_all, 1)) << " |\n";
  }
  md << "\n";
}

// CWPS (a reconstruction, see methods/cwps.h): per initialisation and method, the task relation CPMS(target, earlier
// task) over seeds as a heatmap, the parent each block took, and the share of each block's channels that stayed the
// task's own (mask 0), from what each run kept in RUN/modules/.
void report_cwps(const FinetuneResults& all_runs, const std::string& run_dir, Plots& plots, std::ostream& md) {
  const FinetuneResults r = selected_runs(all_runs);
  struct Group {
    std::vector<std::string> order;                                     // the suite order, as the runs read it
    std::map<std::pair<std::string, std::string>, std::pair<double, int>> cpms;  // (target, pool task) -> (sum, n)
    std::map<std::string, std::map<int, std::map<std::string, int>>> parents;    // target -> block -> pool task -> n
    std::map<std::string, std::map<int, std::pair<int64_t, int64_t>>> own;       // target -> block -> (own, rows)
  };
  std::vector<std::pair<std::string, std::string>> keys;  // (init, method), in the file's order
  std::map<std::pair<std::string, std::string>, Group> groups;
  int blocks = 0;
  for (const auto& c : r.cells) {
    if (c.method.rfind("cwps:", 0) != 0 || !c.port.empty()) continue;
    const std::string path = kept_modules_path(run_dir, c.key);
    if (!fs::exists(path)) continue;
    const auto key = std::make_pair(c.init, c.method);
    if (!groups.count(key)) keys.push_back(key);
    Group& g = groups[key];
    const auto tau_at = c.method.find("tau=");
    const double tau = tau_at == std::string::npos ? 0.1 : std::atof(c.method.c_str() + tau_at + 4);
    const SafetensorsFile f = read_safetensors(path);
    std::vector<std::string> pool = {"host"};
    if (const auto it = f.metadata.find("sources"); it != f.metadata.end() && !it->second.empty()) {
      std::stringstream list(it->second);
      for (std::string s; std::getline(list, s, ',');) pool.push_back(s);
    }
    if (g.order.size() < pool.size()) g.order.assign(pool.begin() + 1, pool.end());  // the longest prefix seen
    const std::map<std::string, at::Tensor> named(f.tensors.begin(), f.tensors.end());
    TAL_REQUIRE(named.count("cwps.cpms") && named.count("cwps.parent"), path, ": no cwps.cpms or cwps.parent (not a "
                "cwps run's modules)");
    const auto cpms = named.at("cwps.cpms").to(at::kDouble), parent = named.at("cwps.parent");
    TAL_REQUIRE(cpms.dim() == 2 && cpms.size(1) == static_cast<int64_t>(pool.size()) && parent.dim() == 1 &&
                    parent.size(0) == cpms.size(0),
                path, ": cwps.cpms ", shape_str(cpms.sizes().vec()), " and cwps.parent ",
                shape_str(parent.sizes().vec()), " do not fit its ", pool.size(), " pool models");
    blocks = std::max(blocks, static_cast<int>(cpms.size(0)));
    for (size_t p = 1; p < pool.size(); ++p) {
      auto& [sum, n] = g.cpms[{c.task, pool[p]}];
      sum += cpms.select(1, static_cast<int64_t>(p)).mean().item<double>();
      ++n;
    }
    for (int64_t l = 0; l < parent.size(0); ++l) {
      const double value = parent[l].item<double>();
      TAL_REQUIRE(value >= 0 && value < static_cast<double>(pool.size()), path, ": cwps.parent of block ", l, " is ",
                  value, ", not a pool model");
      const auto index = static_cast<size_t>(value);
      ++g.parents[c.task][static_cast<int>(l)][pool[index]];
    }
    for (const auto& [name, score] : f.tensors) {
      const std::string tail = ".cwps_score";
      if (name.size() < tail.size() || name.compare(name.size() - tail.size(), tail.size(), tail) != 0) continue;
      const auto digit = name.find_first_of("0123456789");  // the block: the first number in the weight's name
      TAL_REQUIRE(digit != std::string::npos, path, ": ", name, " names no block");
      auto& [mine, rows] = g.own[c.task][std::atoi(name.c_str() + digit)];
      mine += (~(score >= tau)).sum().item<int64_t>();
      rows += score.numel();
    }
  }
  if (keys.empty()) return;
  md << "## CWPS: task relations, parents and task-specific channels\n\nCWPS is a reconstruction (its paper has no "
        "public code or text; README, \"Transfer methods\"). Each task's run reads the models of the tasks before it "
        "in the suite order (never their data); CPMS(target, earlier task) is the mean over blocks and seeds of the "
        "mean cosine between the two models' per-channel moves from the host; each block's parent is the pool model "
        "with the highest CPMS there (the host when none is above 0); a channel whose mask ended at 0 is the task's "
        "own. Each run at its chosen rate.\n\n";
  for (const auto& key : keys) {
    const auto& [init, method] = key;
    Group& g = groups[key];
    std::vector<std::string> targets;
    for (const auto& [task, by_block] : g.own) targets.push_back(task);
    auto rank = [&](const std::string& t) {
      const auto it = std::find(g.order.begin(), g.order.end(), t);
      return it == g.order.end() ? g.order.size() : static_cast<size_t>(it - g.order.begin());
    };
    std::stable_sort(targets.begin(), targets.end(), [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
    md << "### `" << init << "`, `" << method << "`\n\n| target | own channels";
    for (int l = 0; l < blocks; ++l) md << " | block " << l;
    md << " | parents (block 0, 1, ...) |\n|---|---|";
    for (int l = 0; l < blocks; ++l) md << "---|";
    md << "---|\n";
    for (const auto& t : targets) {
      int64_t mine_all = 0, rows_all = 0;
      std::string cells, parents;
      for (int l = 0; l < blocks; ++l) {
        const auto [mine, rows] = g.own[t][l];
        cells += " " + (rows ? fmt("%.3f", static_cast<double>(mine) / static_cast<double>(rows)) : std::string("-")) +
                 " |";
        mine_all += mine, rows_all += rows;
        std::string best = "-";
        int most = 0;
        for (const auto& [pool_task, n] : g.parents[t][l])
          if (n > most) best = pool_task, most = n;
        parents += (l ? ", " : "") + best;
      }
      md << "| " << t << " | "
         << fmt("%.3f", static_cast<double>(mine_all) / static_cast<double>(std::max<int64_t>(rows_all, 1))) << " |"
         << cells << " " << parents << " |\n";
    }
    md << "\nCPMS(target, earlier task), rows the targets, columns the tasks before them:\n\n| target |";
    for (const auto& t : targets) md << " " << t << " |";
    md << "\n|---|";
    for (size_t k = 0; k < targets.size(); ++k) md << "---|";
    md << "\n";
    std::ostringstream data;
    data << "# rows: target task; columns: earlier task (NaN: not before it); mean CPMS\n";
    double largest = 0.05;  // the colour scale: symmetric about 0, to the largest |CPMS|
    for (const auto& row : targets) {
      md << "| " << row << " |";
      for (size_t k = 0; k < targets.size(); ++k) {
        const auto it = g.cpms.find({row, targets[k]});
        const bool known = it != g.cpms.end() && it->second.second > 0;
        const double v = known ? it->second.first / it->second.second : 0;
        md << " " << (known ? fmt("%.3f", v) : std::string("-")) << " |";
        data << (k ? " " : "") << (known ? fmt("%.6f", v) : std::string("NaN"));
        if (known) largest = std::max(largest, std::abs(v));
      }
      md << "\n";
      data << "\n";
    }
    std::ostringstream script, tics;
    for (size_t k = 0; k < targets.size(); ++k) tics << (k ? ", " : "") << quoted(targets[k]) << " " << k;
    const std::string name = "cpms_" + slug(init + "_" + method);
    script << "set title " << quoted("CPMS (task relation): " + init + ", " + method) << "\nunset grid\nset xtics ("
           << tics.str() << ") rotate by -30\nset ytics (" << tics.str() << ")\nset yrange [-0.5:"
           << targets.size() - 0.5 << "] reverse\nset xrange [-0.5:" << targets.size() - 0.5
           << "]\nset xlabel 'earlier task (pool)'\nset ylabel 'target'\nset palette defined (-1 'blue', 0 'white', 1 "
              "'red')\nset cbrange [" << -largest << ":" << largest << "]\nplot '"
           << name << ".dat' matrix with image notitle\n";
    md << "\n![CPMS](" << plots.draw(name, data.str(), script.str()) << ")\n\n";
  }
}

void report_porting(const FinetuneResults& all_runs, Plots& plots, std::ostream& md) {
  const FinetuneResults r = selected_runs(all_runs);
  std::vector<std::tuple<std::string, std::string, std::string, std::string>> rows;  // method, from, init, task
  for (const auto& c : r.cells)
    if (!c.port.empty()) {
      const auto row = std::make_tuple(c.method, c.port_from, c.init, c.task);
      if (std::find(rows.begin(), rows.end(), row) == rows.end()) rows.push_back(row);
    }
  if (rows.empty()) return;
  const char* kConditions[] = {"ported", "sampled", ""};
  auto runs_of = [&](const std::string& method, const std::string& from, const std::string& init,
                     const std::string& task, const std::string& port) {
    std::vector<const FinetuneCell*> out;
    for (const auto& c : r.cells)
      if (c.method == method && c.init == init && c.task == task && c.port == port && (port.empty() || c.port_from == from))
        out.push_back(&c);
    return out;
  };
  md << "## Ported modules\n\nModules trained on an origin host (initialisation/task) and copied into the "
        "destination's host (*ported*), drawn from each tensor's own normal (*sampled*), or trained from their own "
        "initialisation on the destination (*scratch*): test score (%) at step 0 -> final, mean ± std over seeds and "
        "architectures, each at its chosen rate.\n\n| method | from | to | ported | sampled | scratch |\n"
        "|---|---|---|---|---|---|\n";
  std::ostringstream bars;
  bars << "# method: from -> to, step-0 score (%) ported, sampled, scratch\n";
  for (const auto& [method, from, init, task] : rows) {
    md << "| `" << method << "` | " << from << " | " << init << "/" << task << " |";
    bars << quoted(method.substr(0, method.find(':')) + ": " + from + " -> " + init + "/" + task);
    for (const char* port : kConditions) {
      std::vector<double> zero, last;
      for (const auto* c : runs_of(method, from, init, task, port)) {
        zero.push_back(100 * c->score().front());
        last.push_back(100 * c->final_score());
      }
      md << " " << (zero.empty() ? std::string("-") : fmt("%.1f", mean(zero)) + " -> " + fmt("%.1f", mean(last)) +
                                                          " ± " + fmt("%.1f", sample_std(last)))
         << " |";
      bars << " " << (zero.empty() ? std::string("NaN") : fmt("%.3f", mean(zero)));
    }
    md << "\n";
    bars << "\n";
  }
  std::ostringstream script;
  script << "set title 'Ported modules at step 0 (zero-shot)'\nset ylabel 'test score at step 0 (%)'\n"
         << "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.7 border -1\n"
         << "set xtics rotate by -30\nset yrange [0:*]\nplot 'port_step0.dat' using 2:xtic(1) title 'ported', '' "
            "using 3 title 'sampled', '' using 4 title 'scratch'\n";
  md << "\n![ported modules at step 0](" << plots.draw("port_step0", bars.str(), script.str()) << ")\n\n";
  // Paired by (architecture, seed) against scratch on the same destination: at step 0 and at the end.
  md << "Against scratch on the same destination, paired by architecture and seed: mean difference in points [bootstrap "
        "95% interval], wins / pairs.\n\n| method | from | to | ported, step 0 | ported, final | sampled, step 0 | "
        "sampled, final |\n|---|---|---|---|---|---|---|\n";
  for (const auto& [method, from, init, task] : rows) {
    FinetuneResults view = r;
    view.cells.clear();
    for (const char* port : kConditions)
      for (const auto* c : runs_of(method, from, init, task, port)) {
        FinetuneCell v = *c;
        v.init = *port ? port : "scratch";  // the conditions in the initialisation's place
        view.cells.push_back(std::move(v));
      }
    auto step0 = [](const FinetuneCell& c) { return c.score().front(); };
    md << "| `" << method << "` | " << from << " | " << init << "/" << task << " | "
       << paired_text(paired_against(view, task, "ported", "scratch", {}, step0)) << " | "
       << paired_text(paired_against(view, task, "ported", "scratch")) << " | "
       << paired_text(paired_against(view, task, "sampled", "scratch", {}, step0)) << " | "
       << paired_text(paired_against(view, task, "sampled", "scratch")) << " |\n";
  }
  md << "\n";
  std::vector<std::string> methods;
  for (const auto& row : rows)
    if (std::find(methods.begin(), methods.end(), std::get<0>(row)) == methods.end()) methods.push_back(std::get<0>(row));
  for (const auto& method : methods) {
    std::ostringstream data, curves;
    data << "# step, mean test score (%) ported, sampled, scratch (over destinations, seeds, architectures)\n";
    std::map<int64_t, std::array<std::pair<double, int>, 3>> by_step;
    for (const auto& [m, from, init, task] : rows) {
      if (m != method) continue;
      for (int k = 0; k < 3; ++k)
        for (const auto* c : runs_of(m, from, init, task, kConditions[k]))
          for (size_t i = 0; i < c->eval_steps.size(); ++i) {
            auto& [sum, n] = by_step[c->eval_steps[i]][static_cast<size_t>(k)];
            sum += 100 * c->score()[i];
            ++n;
          }
    }
    for (const auto& [step, cond] : by_step) {
      data << step;
      for (const auto& [sum, n] : cond) data << " " << (n > 0 ? fmt("%.3f", sum / n) : std::string("NaN"));
      data << "\n";
    }
    const std::string name = "port_curve_" + slug(method);
    curves << "set title " << quoted("Ported modules along fine-tuning: " + method)
           << "\nset xlabel 'step'\nset ylabel 'test score (%)'\nplot '" << name
           << ".dat' using 1:2 with linespoints lw 2 title 'ported', '' using 1:3 with linespoints lw 2 title "
              "'sampled', '' using 1:4 with linespoints lw 2 title 'scratch'\n";
    md << "![" << method << "](" << plots.draw(name, data.str(), curves.str()) << ")\n\n";
  }
}

// A budget curve: the fine-tuning grids of one directory's subdirectories, each made with hypernetworks trained for
// another budget. Per hypernetwork initialisation and budget (its checkpoint's step), the paired gain over random and
// over ancestry-select (each side at its chosen rate), per task.
struct BudgetPoint {
  std::string init, task, kind;
  int64_t step = 0;
  Paired vs_random, vs_select;
};

std::vector<BudgetPoint> budget_points(const std::vector<FinetuneResults>& grids) {
  FinetuneResults baselines;
  std::set<std::string> seen_keys;
  for (const auto& g : grids)
    for (const auto& c : g.cells)
      if ((c.init == "random" || c.init == "ancestry-select") && c.method == "full" && c.port.empty() &&
          seen_keys.insert(c.key).second)
        baselines.cells.push_back(c);  // the budget curve is of full fine-tuning
  std::vector<BudgetPoint> out;
  for (const auto& g : grids)
    for (const auto& init : g.inits) {
      if (init.hypernet_params == 0) continue;
      FinetuneResults one = baselines;
      for (const auto& c : g.cells)
        if (c.init == init.name && c.method == "full" && c.port.empty()) one.cells.push_back(c);
      const FinetuneResults sel = selected_runs(one);
      const FinetuneResults view = head_view(sel, head_choices(sel).front());
      std::vector<std::pair<std::string, std::string>> tasks;
      for (const auto& c : view.cells)
        if (c.init == init.name &&
            std::find(tasks.begin(), tasks.end(), std::make_pair(c.task, c.task_kind)) == tasks.end())
          tasks.emplace_back(c.task, c.task_kind);
      for (const auto& [task, kind] : tasks) {
        BudgetPoint p;
        p.init = init.name;
        p.task = task;
        p.kind = kind;
        p.step = init.source_step;
        p.vs_random = paired_against(view, task, init.name, "random");
        p.vs_select = paired_against(view, task, init.name, "ancestry-select");
        out.push_back(p);
      }
    }
  std::sort(out.begin(), out.end(), [](const BudgetPoint& a, const BudgetPoint& b) {
    return std::tie(a.task, a.init, a.step) < std::tie(b.task, b.init, b.step);
  });
  return out;
}

void report_budget(const std::vector<std::string>& dirs, const std::vector<FinetuneResults>& grids, Plots& plots,
                   std::ostream& md) {
  const auto points = budget_points(grids);
  md << "## Budget curve\n\nThe fine-tuning grids of " << dirs.size() << " directories (";
  for (size_t i = 0; i < dirs.size(); ++i) md << (i ? ", " : "") << "`" << dirs[i] << "`";
  md << "), each with hypernetworks trained for another number of steps. Per task and hypernetwork: the final test "
        "score's paired gain (points) over `random` and over `ancestry-select`, each side at the learning rate its "
        "validation score chose: mean [bootstrap 95% interval], wins / pairs.\n\n"
        "| task | kind | initialisation | hypernet steps | gain over random | gain over ancestry-select |\n"
        "|---|---|---|---|---|---|\n";
  for (const auto& p : points)
    md << "| " << p.task << " | " << p.kind << " | " << p.init << " | " << p.step << " | " << paired_text(p.vs_random)
       << " | " << paired_text(p.vs_select) << " |\n";
  md << "\n";
  std::vector<std::string> tasks;
  for (const auto& p : points)
    if (std::find(tasks.begin(), tasks.end(), p.task) == tasks.end()) tasks.push_back(p.task);
  for (const auto& t : tasks) {
    std::ostringstream data, script;
    const std::string file = "budget_" + slug(t) + ".dat";
    script << "set title " << quoted("Gain after fine-tuning vs hypernetwork training steps: " + t)
           << "\nset logscale x\nset xlabel 'hypernetwork training steps'\nset ylabel 'final test score gain (points)'\n"
           << "set xzeroaxis lt -1\nplot ";
    int block = 0;
    std::vector<std::string> inits;
    for (const auto& p : points)
      if (p.task == t && std::find(inits.begin(), inits.end(), p.init) == inits.end()) inits.push_back(p.init);
    for (const auto& init : inits)
      for (const bool vs_select : {false, true}) {
        data << "# " << init << " over " << (vs_select ? "ancestry-select" : "random") << ": steps mean lo hi\n";
        bool any = false;
        for (const auto& p : points) {
          const Paired& d = vs_select ? p.vs_select : p.vs_random;
          if (p.task != t || p.init != init || d.pairs == 0) continue;
          data << p.step << " " << 100 * d.diff.mean << " " << 100 * d.diff.lo << " " << 100 * d.diff.hi << "\n";
          any = true;
        }
        if (!any) data << "NaN NaN NaN NaN\n";
        data << "\n\n";
        script << (block ? ", " : "") << "'" << file << "' index " << block
               << " using 1:2:3:4 with yerrorlines lw 2 title "
               << quoted(init + " over " + (vs_select ? "ancestry-select" : "random"));
        ++block;
      }
    script << "\n";
    md << "![gain vs hypernetwork steps, " << t << "](" << plots.draw("budget_" + slug(t), data.str(), script.str())
       << ")\n\n";
  }
}

}  // namespace

std::vector<std::string> write_report(const ReportOptions& o) {
  TAL_REQUIRE(fs::is_directory(o.run_dir), o.run_dir, ": not a run directory");
  const std::string metrics = o.run_dir + "/metrics.jsonl", results = o.run_dir + "/finetune.h5";
  const bool has_metrics = fs::exists(metrics), has_results = fs::exists(results);
  // A directory of fine-tuning grids (one per hypernetwork budget) gets a budget curve.
  std::vector<std::string> grid_dirs;
  if (!has_metrics && !has_results)
    for (const auto& entry : fs::directory_iterator(o.run_dir))
      if (entry.is_directory() && fs::exists(entry.path() / "finetune.h5")) grid_dirs.push_back(entry.path().string());
  std::sort(grid_dirs.begin(), grid_dirs.end());
  TAL_REQUIRE(has_metrics || has_results || !grid_dirs.empty(), o.run_dir, ": holds neither metrics.jsonl nor "
              "finetune.h5, nor subdirectories with finetune.h5 (run tal train or tal finetune with run.dir=",
              o.run_dir, ")");
  std::vector<FinetuneResults> grids;
  for (const auto& d : grid_dirs) {
    grids.push_back(read_finetune_results(d + "/finetune.h5"));
    // One budget curve compares like with like: every grid fine-tunes with the same recipe (its baselines are shared).
    TAL_REQUIRE(grids.back().recipe == grids.front().recipe, d, "/finetune.h5: made with another recipe (",
                grids.back().recipe, ") than ", grid_dirs.front(), "/finetune.h5 (", grids.front().recipe,
                "); a budget curve needs one");
  }
  // Read every input before writing anything.
  std::map<std::string, std::vector<LossPoint>> losses;
  if (has_metrics) losses = read_metrics_losses(metrics);
  FinetuneResults r;
  if (has_results) r = read_finetune_results(results);
  const std::string probe = "'" + o.gnuplot + "' -e 'exit' > /dev/null 2>&1";
  TAL_REQUIRE(std::system(probe.c_str()) == 0, "tal report: cannot run '", o.gnuplot,
              "' (install Debian's gnuplot-nox, or give --gnuplot PROGRAM)");

  // Nothing is written unless the whole report is: the plots are drawn into a staging folder beside report/, and moved
  // into it (each file renamed, other files left as they are) only once report.md is written.
  const std::string out = o.run_dir + "/report.md", dir = o.run_dir + "/report";
  TAL_REQUIRE(!fs::is_directory(out), out, ": is a directory; tal report writes its report to that file");
  TAL_REQUIRE(!fs::exists(dir) || fs::is_directory(dir), dir, ": is not a directory; tal report puts its plots there");
  const std::string staging = o.run_dir + "/.report-staging-" + std::to_string(::getpid());
  for (const auto& entry : fs::directory_iterator(o.run_dir)) {  // a killed report's staging folder
    const std::string name = entry.path().filename().string(), mark = ".report-staging-";
    if (name.rfind(mark, 0) != 0 || name.size() == mark.size() || name.size() > mark.size() + 9 ||
        name.find_first_not_of("0123456789", mark.size()) != std::string::npos)
      continue;
    const auto pid = static_cast<pid_t>(std::stol(name.substr(mark.size())));
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) fs::remove_all(entry.path());
  }
  struct Staging {
    std::string path;
    ~Staging() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } staged{staging};
  fs::remove_all(staging);
  fs::create_directories(staging);
  Plots plots(staging, o.gnuplot);
  std::ostringstream md;
  md << "# Report: " << fs::path(o.run_dir).filename().string() << "\n\nMade by `tal report " << o.run_dir
     << "` from " << (has_metrics ? "`metrics.jsonl`" : "") << (has_metrics && has_results ? " and " : "")
     << (has_results ? "`finetune.h5`" : "") << (grids.empty() ? "" : "the subdirectories' `finetune.h5`")
     << ". Each plot's data and gnuplot script sit beside it in `report/`.\n\n";
  if (!losses.empty()) report_losses(losses, plots, md);
  if (has_results && !r.cells.empty()) {
    // The initialisation sections read one method's runs: full where the grid has it, else its first method.
    FinetuneResults one = r;
    const auto full = std::find_if(r.cells.begin(), r.cells.end(), [](const FinetuneCell& c) { return c.method == "full"; });
    const std::string base = full != r.cells.end() ? "full" : r.cells.front().method;
    one.cells.clear();
    bool several = false;
    for (const auto& c : r.cells) {
      if (c.method == base && c.port.empty()) one.cells.push_back(c);
      several = several || c.method != base;
    }
    if (several) md << "The sections up to \"Transfer methods\" read the runs of method `" << base << "`.\n\n";
    report_finetune(one, plots, md);
    if (several || base != "full") report_transfer(r, plots, md);
    report_scales(r, o.run_dir, plots, md);
    report_taps(r, o.run_dir, md);
    report_cwps(r, o.run_dir, plots, md);
    report_porting(r, plots, md);
  }
  if (!grids.empty()) report_budget(grid_dirs, grids, plots, md);
  // The plots first, then report.md: a report.md on disk always has its plots beside it.
  std::vector<std::string> written = {out};
  if (!plots.written().empty()) fs::create_directories(dir);
  for (const auto& path : plots.written()) {
    const std::string moved = dir + "/" + fs::path(path).filename().string();
    fs::rename(path, moved);
    written.push_back(moved);
  }
  write_atomically(out, [&](const std::string& tmp) {
    std::ofstream f(tmp);
    f << md.str();
    TAL_REQUIRE(f.good(), tmp, ": write failed");
  });
  return written;
}

}  // namespace tal
