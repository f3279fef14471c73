#include "trainer/files/finetune_statistics.h"

#include <algorithm>
#include <cmath>

#include "base/rng.h"

namespace tal {
namespace {

LrChoiceKey choice_key(const FinetuneCell& c) { return {c.task, c.init, c.head, c.variant()}; }

// Percentile of sorted values, linear between order statistics.
double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto i = static_cast<size_t>(std::floor(pos));
  const size_t j = std::min(i + 1, sorted.size() - 1);
  return sorted[i] + (pos - static_cast<double>(i)) * (sorted[j] - sorted[i]);
}

}  // namespace

std::map<LrChoiceKey, double> choose_learning_rates(const std::vector<FinetuneCell>& cells) {
  std::map<LrChoiceKey, std::map<double, std::pair<double, int64_t>>> by_rate;  // key -> lr -> (sum, n)
  for (const auto& c : cells) {
    auto& [sum, n] = by_rate[choice_key(c)][c.lr];
    sum += c.val_score();
    ++n;
  }
  std::map<LrChoiceKey, double> out;
  for (const auto& [key, rates] : by_rate) {
    double best = -1e300, chosen = 0;
    for (const auto& [lr, sn] : rates) {  // ascending: a tie keeps the smaller rate
      const double m = sn.first / static_cast<double>(sn.second);
      if (m > best + 1e-12) {
        best = m;
        chosen = lr;
      }
    }
    out[key] = chosen;
  }
  return out;
}

FinetuneResults selected_runs(const FinetuneResults& r) {
  const auto chosen = choose_learning_rates(r.cells);
  FinetuneResults out = r;
  out.cells.clear();
  for (const auto& c : r.cells)
    if (chosen.at(choice_key(c)) == c.lr) out.cells.push_back(c);
  return out;
}

FinetuneResults head_view(const FinetuneResults& r, const std::string& head) {
  FinetuneResults out = r;
  out.cells.clear();
  for (const auto& c : r.cells)
    if (c.head == head || c.head == "own") out.cells.push_back(c);
  return out;
}

std::vector<std::string> head_choices(const FinetuneResults& r) {
  std::vector<std::string> out;
  for (const char* h : {"reset", "predicted"})
    if (std::any_of(r.cells.begin(), r.cells.end(), [&](const FinetuneCell& c) { return c.head == h; }))
      out.push_back(h);
  if (out.empty()) out.push_back("own");
  return out;
}

std::vector<LrPoint> lr_curve(const FinetuneResults& r, const std::string& task, const std::string& init,
                              const std::string& head) {
  std::map<double, LrPoint> by_rate;
  for (const auto& c : r.cells)
    if (c.task == task && c.init == init && (c.head == head || c.head == "own")) {
      auto& p = by_rate[c.lr];
      p.lr = c.lr;
      p.val += c.val_score();
      p.test += c.final_score();
      ++p.runs;
    }
  std::vector<LrPoint> out;
  for (auto& [lr, p] : by_rate) {
    p.val /= static_cast<double>(p.runs);
    p.test /= static_cast<double>(p.runs);
    out.push_back(p);
  }
  return out;
}

Interval bootstrap_mean(const std::vector<double>& v, uint64_t seed, int resamples) {
  Interval out;
  if (v.empty()) return out;
  out.mean = mean(v);
  if (v.size() < 2) {
    out.lo = out.hi = out.mean;
    return out;
  }
  SplitMix rng(seed);
  std::vector<double> means;
  means.reserve(static_cast<size_t>(resamples));
  const auto n = static_cast<int64_t>(v.size());
  for (int b = 0; b < resamples; ++b) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += v[static_cast<size_t>(rng.uniform(0, n - 1))];
    means.push_back(s / static_cast<double>(n));
  }
  std::sort(means.begin(), means.end());
  out.lo = percentile(means, 0.025);
  out.hi = percentile(means, 0.975);
  return out;
}

Paired paired_against(const FinetuneResults& r, const std::string& task, const std::string& init,
                      const std::string& baseline, const std::function<bool(const FinetuneCell&)>& keep,
                      const std::function<double(const FinetuneCell&)>& value) {
  auto score = [&](const FinetuneCell& c) { return value ? value(c) : c.final_score(); };
  std::map<std::pair<std::string, int64_t>, double> base;  // (arch_id, seed) -> score
  for (const auto& c : r.cells)
    if (c.task == task && c.init == baseline && (!keep || keep(c))) base[{c.arch_id, c.seed}] = score(c);
  std::vector<double> diffs;
  Paired out;
  for (const auto& c : r.cells) {
    if (c.task != task || c.init != init || (keep && !keep(c))) continue;
    const auto it = base.find({c.arch_id, c.seed});
    if (it == base.end()) continue;
    const double d = score(c) - it->second;
    diffs.push_back(d);
    out.wins += d > 0;
  }
  out.pairs = static_cast<int64_t>(diffs.size());
  // A fixed seed per comparison: the same file always gives the same interval.
  uint64_t seed = 0x5eed;
  for (char ch : task + "|" + init + "|" + baseline) seed = seed * 131 + static_cast<unsigned char>(ch);
  out.diff = bootstrap_mean(diffs, seed);
  return out;
}

const std::vector<std::string>& task_kinds() {
  static const std::vector<std::string> kinds = {"seen", "held-out", "class-disjoint"};
  return kinds;
}

std::vector<ScoreTable> score_tables(const FinetuneResults& selected, const std::vector<std::string>& inits,
                                     const std::function<double(const FinetuneCell&)>& value,
                                     const std::function<bool(const FinetuneCell&)>& keep) {
  std::vector<ScoreTable> out;
  const auto heads = head_choices(selected);
  for (size_t h = 0; h < heads.size(); ++h) {
    FinetuneResults view = head_view(selected, heads[h]);
    if (keep) view.cells.erase(std::remove_if(view.cells.begin(), view.cells.end(),
                                              [&](const FinetuneCell& c) { return !keep(c); }),
                               view.cells.end());
    for (const auto& kind : task_kinds()) {
      if (kind == "seen" && h > 0) continue;
      ScoreTable t;
      t.kind = kind;
      t.head = kind == "seen" ? "own" : heads[h];
      for (const auto& c : view.cells)
        if (c.task_kind == kind && std::find(t.tasks.begin(), t.tasks.end(), c.task) == t.tasks.end())
          t.tasks.push_back(c.task);
      if (t.tasks.empty()) continue;
      for (const auto& task : t.tasks) {
        std::vector<TableEntry> row;
        for (const auto& init : inits) {
          TableEntry e;
          const auto v = seed_means(view, task, init, value);
          if (!v.empty()) {
            e.present = true;
            e.mean = mean(v);
            e.std = sample_std(v);
            for (const auto& c : view.cells)
              if (c.task == task && c.init == init) e.lr = c.lr;
          }
          row.push_back(e);
        }
        t.rows.push_back(std::move(row));
      }
      out.push_back(std::move(t));
    }
  }
  return out;
}

MethodCounts method_counts(const std::vector<FinetuneCell>& cells, const std::string& method,
                           const std::function<bool(const FinetuneCell&)>& keep) {
  MethodCounts out;
  for (const auto& c : cells) {
    if (c.method != method || (keep && !keep(c))) continue;
    out.trained += static_cast<double>(c.trainable);
    out.stored += static_cast<double>(c.stored);
    out.params += static_cast<double>(c.params);
    out.shared += static_cast<double>(std::max<int64_t>(0, c.shared_embeddings));  // -1: not recorded (older files)
    out.stored_shared += static_cast<double>(std::max<int64_t>(0, c.stored_shared));
    out.suite_stored += static_cast<double>(c.suite_stored);
    ++out.runs;
  }
  if (out.runs > 0)
    for (double* x : {&out.trained, &out.stored, &out.params, &out.shared, &out.stored_shared, &out.suite_stored})
      *x /= static_cast<double>(out.runs);
  return out;
}

FinetuneResults method_view(const FinetuneResults& selected, const std::string& init,
                            const std::function<bool(const FinetuneCell&)>& keep) {
  FinetuneResults view = selected;
  view.cells.clear();
  for (auto c : selected.cells)
    if (c.init == init && (!keep || keep(c))) {
      c.init = c.method;  // the columns are the methods
      view.cells.push_back(std::move(c));
    }
  return view;
}

}  // namespace tal
