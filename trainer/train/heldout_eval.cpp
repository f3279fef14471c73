#include "trainer/train/heldout_eval.h"

#include <algorithm>
#include <cmath>

#include "base/rng.h"
#include "trainer/train/evaluator.h"
#include "trainer/train/progress.h"

namespace tal {
namespace {
constexpr uint64_t kEvalArchStream = 12, kClassRowStream = 13;
}

void evaluate_held_out(Hypernet& net, const TrainingData& data, const std::vector<int64_t>& tasks, int64_t step,
                       const HeldOutEvaluation& c, const std::function<at::Tensor(int64_t)>& embedding,
                       Communicator& comm, MetricsLog& metrics) {
  if (c.archs == 0) return;
  at::NoGradGuard guard;
  for (auto t : tasks) {
    const auto& task = data.tasks[static_cast<size_t>(t)];
    const auto rules = c.zoo.rules_for(data_shape(task));
    const auto mine = shard(first_positions(std::min(c.images, task.size(Split::Test))), comm.rank(), comm.world());
    const at::Tensor e = embedding(t);
    std::vector<double> acc, ppl;
    for (int64_t a = 0; a < c.archs; ++a) {
      const auto spec = sample_arch(rules, mix_seed(c.seed, kEvalArchStream, 0), static_cast<uint64_t>(a));
      const Graph g = build_graph(spec);
      PredictOptions popts;
      popts.class_row_seeds = {mix_seed(c.seed, kClassRowStream, 1ull << 40 | static_cast<uint64_t>(a))};
      const auto predicted = net.predict({&g}, e, popts)[0];
      const Evaluation local = evaluate(spec, predicted, task, Split::Test, mine);
      auto counts = local.to_counts();
      comm.allreduce_sum(counts, "evaluation counts");
      const Evaluation all = local.from_counts(counts);
      acc.push_back(all.accuracy());
      ppl.push_back(all.perplexity());
    }
    // Perplexities average as their logarithms (the mean next-token loss): one bad architecture cannot swamp them.
    double mean = 0, mean_log_ppl = 0;
    for (size_t i = 0; i < acc.size(); ++i) {
      mean += acc[i] / static_cast<double>(acc.size());
      mean_log_ppl += std::log(std::max(ppl[i], 1e-300)) / static_cast<double>(acc.size());
    }
    const double mean_ppl = std::exp(mean_log_ppl);
    if (comm.rank() != 0) continue;
    const bool lm = task.def().pack;
    std::string list, ppl_list;
    for (size_t i = 0; i < acc.size(); ++i) {
      list += strf(" %.1f", 100 * acc[i]);
      ppl_list += strf(" %.6g", ppl[i]);
    }
    Progress p;
    p.add("eval  step " + std::to_string(step), "step", step)
        .add("task " + task.def().name + (data.is_heldout(t) ? " (held-out task)" : ""), "eval_task", task.def().name)
        .add("", "heldout_task", static_cast<int64_t>(data.is_heldout(t)))
        .add(strf("%s of %lld held-out architectures, as predicted (%%):%s  mean %.2f",
                  lm ? "next-token accuracy" : "accuracy", static_cast<long long>(c.archs), list.c_str(), 100 * mean),
             "eval_accuracy", mean);
    if (lm) p.add(strf("perplexity:%s  geometric mean %.6g", ppl_list.c_str(), mean_ppl), "eval_perplexity", mean_ppl);
    p.emit(metrics);
  }
}

}  // namespace tal
