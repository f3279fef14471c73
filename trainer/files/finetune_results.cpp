#include "trainer/files/finetune_results.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <map>

#include "base/error.h"
#include "base/suggest.h"
#include "datasets/atomic_file.h"
#include "datasets/h5.h"
#include "datasets/h5_check.h"
#include "datasets/tasks.h"
#include "trainer/files/file_kind.h"
#include "trainer/files/finetune_statistics.h"

namespace tal {
namespace {

constexpr int64_t kResultsFormat = 5, kOldestResultsFormat = 1;

at::Tensor doubles(const std::vector<double>& v) {
  return at::tensor(at::ArrayRef<double>(v.data(), v.size()), at::kDouble).clone();
}
at::Tensor longs(const std::vector<int64_t>& v) {
  return at::tensor(at::ArrayRef<int64_t>(v.data(), v.size()), at::kLong).clone();
}
template <class T>
std::vector<T> values(const at::Tensor& t) {
  const auto c = t.contiguous();
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

}  // namespace

void compute_steps_to(FinetuneResults& r) {
  const auto chosen = choose_learning_rates(r.cells);
  std::map<std::pair<std::string, std::string>, std::map<std::string, std::pair<double, int>>> finals;
  for (const auto& c : r.cells) {
    if (chosen.at({c.task, c.init, c.head, c.variant()}) != c.lr) continue;
    auto& [sum, n] = finals[{c.task + "|" + c.arch_id, c.variant()}][c.init + "|" + c.head];
    sum += c.final_score();
    ++n;
  }
  for (auto& c : r.cells) {
    double best = -1e300;  // over the initialisations and heads of one (task, architecture, method)
    for (const auto& [init, sn] : finals[{c.task + "|" + c.arch_id, c.variant()}]) best = std::max(best, sn.first / sn.second);
    c.steps_to.assign(r.fractions.size(), -1);
    const auto& score = c.score();
    if (best <= 0) continue;  // fractions of a best at or below zero (an MCC) mean nothing: never reached
    for (size_t f = 0; f < r.fractions.size(); ++f)
      for (size_t i = 0; i < score.size(); ++i)
        if (score[i] >= r.fractions[f] * best - 1e-12) {
          c.steps_to[f] = c.eval_steps[i];
          break;
        }
  }
}

void write_finetune_results(const std::string& path, const FinetuneResults& r) {
  write_atomically(path, [&](const std::string& tmp) {
    H5File f(tmp, H5File::Mode::Truncate);
    stamp_kind(f, "tal-finetune", kResultsFormat);
    f.write("/fractions", doubles(r.fractions), false);
    f.set_attr("/", "config_yaml", r.config_yaml);
    f.set_attr("/", "recipe", r.recipe);
    f.create_group("/inits");
    std::vector<std::string> order;
    for (const auto& i : r.inits) order.push_back(i.name);
    if (!order.empty()) f.write_strings("/init_order", order);
    for (const auto& i : r.inits) {
      const std::string g = "/inits/" + i.name;
      f.create_group(g);
      f.set_attr(g, "source", i.source);
      f.set_attr(g, "source_hash", i.source_hash);
      f.set_attr(g, "source_step", i.source_step);
      f.set_attr(g, "hypernet_params", i.hypernet_params);
      f.set_attr(g, "predict_ms", i.predict_ms);
    }
    f.create_group("/cells");
    for (const auto& c : r.cells) {
      const std::string g = "/cells/" + c.key;
      f.write(g + "/eval_steps", longs(c.eval_steps), false);
      f.write(g + "/accuracy", doubles(c.accuracy), false);
      if (!c.mcc.empty()) f.write(g + "/mcc", doubles(c.mcc), false);
      f.write(g + "/loss", doubles(c.loss), false);
      f.write(g + "/steps_to", longs(c.steps_to), false);
      f.set_attr(g, "task", c.task);
      f.set_attr(g, "arch", c.arch);
      f.set_attr(g, "spec", c.spec);
      f.set_attr(g, "arch_id", c.arch_id);
      f.set_attr(g, "init", c.init);
      f.set_attr(g, "seed", c.seed);
      f.set_attr(g, "heldout", static_cast<int64_t>(c.heldout));
      f.set_attr(g, "task_kind", c.task_kind);
      f.set_attr(g, "lr", c.lr);
      f.set_attr(g, "head", c.head);
      f.set_attr(g, "in_zoo", static_cast<int64_t>(c.in_zoo));
      f.set_attr(g, "val_accuracy", c.val_accuracy);
      f.set_attr(g, "val_mcc", c.val_mcc);
      f.set_attr(g, "body_cosine", c.body_cosine);
      f.set_attr(g, "body_stable_rank", c.body_stable_rank);
      f.set_attr(g, "body_std", c.body_std);
      f.set_attr(g, "params", c.params);
      f.set_attr(g, "method", c.method);
      f.set_attr(g, "trainable", c.trainable);
      f.set_attr(g, "stored", c.stored);
      f.set_attr(g, "shared_embeddings", c.shared_embeddings);
      f.set_attr(g, "stored_shared", c.stored_shared);
      f.set_attr(g, "suite_stored", c.suite_stored);
      f.set_attr(g, "port", c.port);
      f.set_attr(g, "port_from", c.port_from);
      f.set_attr(g, "seconds", c.seconds);
      f.set_attr(g, "init_ms", c.init_ms);
      f.set_attr(g, "final_accuracy", c.final_accuracy());
      f.set_attr(g, "metric", c.metric);
      if (!c.mcc.empty()) f.set_attr(g, "final_mcc", c.final_mcc());
    }
    // Which runs the protocol chose (their rate had the best validation score), for readers of the file alone.
    std::vector<std::string> chosen;
    for (const auto& c : selected_runs(r).cells) chosen.push_back(c.key);
    if (!chosen.empty()) f.write_strings("/chosen", chosen);
  });
}

FinetuneResults read_finetune_results(const std::string& path) {
  rehearse_in_child(path, "finetune", [&] { (void)read_finetune_results(path); });  // crashes HDF5 in a child
  H5File f(path, H5File::Mode::Read);
  const int64_t version = require_kind_versions(f, "tal-finetune", kOldestResultsFormat, kResultsFormat,
                                                "fine-tuning results file", "make one with tal finetune");
  FinetuneResults r;
  r.fractions = values<double>(f.read("/fractions"));
  r.config_yaml = f.attr_str("/", "config_yaml");
  r.recipe = f.attr_str("/", "recipe");
  const auto order = f.exists("/init_order") ? f.read_strings("/init_order") : f.children("/inits");
  for (const auto& name : order) {
    const std::string g = "/inits/" + name;
    r.inits.push_back({name, f.attr_str(g, "source"), f.attr_str(g, "source_hash"), f.attr_int(g, "source_step"),
                       f.attr_int(g, "hypernet_params"), f.attr_float(g, "predict_ms")});
  }
  for (const auto& key : f.children("/cells")) {
    const std::string g = "/cells/" + key;
    FinetuneCell c;
    c.key = key;
    c.task = f.attr_str(g, "task");
    c.arch = f.attr_str(g, "arch");
    c.spec = f.attr_str(g, "spec");
    c.arch_id = f.attr_str(g, "arch_id");
    c.init = f.attr_str(g, "init");
    c.seed = f.attr_int(g, "seed");
    c.heldout = f.attr_int(g, "heldout") != 0;
    c.params = f.attr_int(g, "params");
    c.seconds = f.attr_float(g, "seconds");
    c.init_ms = f.attr_float(g, "init_ms");
    f.require(g + "/accuracy", {"float64"}, 1);
    f.require(g + "/eval_steps", {"int64"}, 1);
    c.eval_steps = values<int64_t>(f.read(g + "/eval_steps"));
    c.accuracy = values<double>(f.read(g + "/accuracy"));
    c.loss = values<double>(f.read(g + "/loss"));
    c.steps_to = values<int64_t>(f.read(g + "/steps_to"));
    TAL_REQUIRE(c.eval_steps.size() == c.accuracy.size() && !c.accuracy.empty(), path, ": cell ", key,
                ": eval_steps and accuracy differ in length");
    if (version >= 2) {
      c.metric = f.attr_str(g, "metric");
      TAL_REQUIRE(is_one_of(c.metric, task_metric_names()), path, ": cell ", key, ": unknown metric '", c.metric,
                  "' (expected ", join_choices(task_metric_names()), ")");
      if (f.exists(g + "/mcc")) {
        f.require(g + "/mcc", {"float64"}, 1);
        c.mcc = values<double>(f.read(g + "/mcc"));
        TAL_REQUIRE(c.mcc.size() == c.accuracy.size(), path, ": cell ", key, ": mcc and accuracy differ in length");
      }
      TAL_REQUIRE(c.metric != "mcc" || !c.mcc.empty(), path, ": cell ", key, ": metric mcc but no /mcc curve");
    }
    if (version >= 3) {
      c.task_kind = f.attr_str(g, "task_kind");
      TAL_REQUIRE(is_one_of(c.task_kind, {"seen", "held-out", "class-disjoint"}), path, ": cell ", key,
                  ": unknown task_kind '", c.task_kind, "'");
      c.lr = f.attr_float(g, "lr");
      c.head = f.attr_str(g, "head");
      TAL_REQUIRE(is_one_of(c.head, {"own", "reset", "predicted"}), path, ": cell ", key, ": unknown head '", c.head,
                  "'");
      c.in_zoo = f.attr_int(g, "in_zoo") != 0;
      c.val_accuracy = f.attr_float(g, "val_accuracy");
      c.val_mcc = f.attr_float(g, "val_mcc");
      c.body_cosine = f.attr_float(g, "body_cosine");
      c.body_stable_rank = f.attr_float(g, "body_stable_rank");
      c.body_std = f.attr_float(g, "body_std");
    } else {
      c.task_kind = c.heldout ? "held-out" : "seen";
    }
    if (version >= 4) {
      c.method = f.attr_str(g, "method");
      TAL_REQUIRE(!c.method.empty() && c.method.size() <= 256, path, ": cell ", key, ": method '",
                  c.method.substr(0, 64), "' is empty or too long");
      c.trainable = f.attr_int(g, "trainable");
      c.stored = f.attr_int(g, "stored");
      c.shared_embeddings = f.attr_int(g, "shared_embeddings");
      // Optional within version 4 (its first files had no porting).
      if (f.has_attr(g, "port")) c.port = f.attr_str(g, "port");
      if (f.has_attr(g, "port_from")) c.port_from = f.attr_str(g, "port_from");
      if (f.has_attr(g, "stored_shared")) c.stored_shared = f.attr_int(g, "stored_shared");
      TAL_REQUIRE(is_one_of(c.port, {"", "ported", "sampled"}) && c.port.empty() == c.port_from.empty() &&
                      c.port_from.size() <= 256,
                  path, ": cell ", key, ": port '", c.port.substr(0, 32), "' from '", c.port_from.substr(0, 64),
                  "' (expected ported or sampled with its origin, or neither)");
      TAL_REQUIRE(c.trainable >= 0 && c.stored >= 0 && c.shared_embeddings >= -1 && c.shared_embeddings <= c.params &&
                      c.stored_shared >= -1 && c.stored_shared <= std::max<int64_t>(c.shared_embeddings, 0),
                  path, ": cell ", key, ": parameter counts trainable ", c.trainable, ", stored ", c.stored,
                  ", shared_embeddings ", c.shared_embeddings, " do not fit its ", c.params, " parameters");
    } else {
      c.trainable = c.stored = c.params;
    }
    if (version >= 5) {
      c.suite_stored = f.attr_int(g, "suite_stored");
      TAL_REQUIRE(c.suite_stored >= 0 && c.suite_stored <= (int64_t{1} << 45), path, ": cell ", key,
                  ": suite_stored ", c.suite_stored, " is not a parameter count");
    }
    r.cells.push_back(std::move(c));
  }
  return r;
}

double mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double sample_std(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

std::vector<double> seed_means(const FinetuneResults& r, const std::string& task, const std::string& init,
                               const std::function<double(const FinetuneCell&)>& value) {
  std::map<int64_t, std::vector<double>> by_seed;
  for (const auto& c : r.cells)
    if (c.task == task && c.init == init) by_seed[c.seed].push_back(value(c));
  std::vector<double> out;
  for (const auto& [seed, v] : by_seed) out.push_back(mean(v));
  return out;
}

std::string kept_modules_path(const std::string& run_dir, const std::string& key) {
  return run_dir + "/modules/" + key + ".safetensors";
}

}  // namespace tal
