// The summary tal finetune prints when a grid is complete: per task kind (seen, held out, class-disjoint held out)
// and head choice, each initialisation's final score at the learning rate its validation score chose (mean ± std
// over seeds of the mean over architectures), the rates chosen, and each initialisation against `random`: the
// paired difference per (task, architecture, seed) with a bootstrap 95% interval and the win rate, for all
// architectures and for those inside and outside the hypernetworks' training zoo.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "trainer/files/finetune_results.h"

namespace tal {

// The rates are chosen over every run of the file (as tal report chooses them); `show` picks the runs printed.
void print_grid_summary(const FinetuneResults& results, const std::vector<std::string>& inits,
                        const std::function<bool(const FinetuneCell&)>& show);

// With several transfer methods: per initialisation, a task x method table of the final score (each method at its
// chosen rate), and each method's parameter counts (trained, stored per task; without the shared embedding tables
// where the family has them).
void print_method_table(const FinetuneResults& results, const std::vector<std::string>& inits,
                        const std::vector<std::string>& methods, const std::function<bool(const FinetuneCell&)>& show);

// With ported modules: per method, origin and destination (initialisation, task), the zero-shot and final test
// scores of the modules ported, sampled from their moments, and trained from their own initialisation (scratch),
// mean ± std over seeds and architectures, each variant at its chosen rate.
void print_porting_table(const FinetuneResults& results, const std::function<bool(const FinetuneCell&)>& show);

}  // namespace tal
