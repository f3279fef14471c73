#include "trainer/finetune/reconcile.h"

#include <algorithm>
#include <map>
#include <set>

#include "base/error.h"
#include "base/suggest.h"
#include "trainer/finetune/methods/method.h"
#include "trainer/train/progress.h"

namespace tal {
namespace {

// What defines a cell but its initialisation's source.
std::string identity(const FinetuneCell& c) {
  return c.task + "|" + c.spec + "|" + c.init + "|" + std::to_string(c.seed) + "|" + strf("%.17g", c.lr) + "|" + c.head +
         "|" + c.variant();
}

}  // namespace

Reconciled reconcile_results(FinetuneResults file, const std::string& recipe, const std::vector<GridCell>& grid,
                             const std::string& path) {
  TAL_REQUIRE(file.cells.empty() || file.recipe == recipe, path, ": holds ", file.cells.size(),
              " runs made with another recipe (", file.recipe, "); give another run.dir, or move the file away");
  const auto known = method_names();
  for (const auto& c : file.cells) {
    const std::string method = c.method.substr(0, c.method.find(':'));
    TAL_REQUIRE(is_one_of(method, known), path, ": run ", c.key, " records method '", c.method.substr(0, 80),
                "', which this build does not know (it knows ", join_choices(known),
                "); give another run.dir, or a build that knows it");
  }
  Reconciled out;
  std::map<std::string, std::string> key_now;  // identity -> key
  std::map<std::string, const GridCell*> by_key;
  for (const auto& g : grid) {
    key_now[identity(g.meta)] = g.meta.key;
    by_key[g.meta.key] = &g;
  }
  auto& cells = file.cells;
  const size_t before = cells.size();
  cells.erase(std::remove_if(cells.begin(), cells.end(),
                             [&](const FinetuneCell& c) {
                               const auto it = key_now.find(identity(c));
                               return it != key_now.end() && it->second != c.key;
                             }),
              cells.end());
  out.other_checkpoint = before - cells.size();
  const size_t kept = cells.size();
  cells.erase(std::remove_if(cells.begin(), cells.end(),
                             [&](FinetuneCell& c) {
                               const auto it = by_key.find(c.key);
                               if (it == by_key.end()) return false;
                               const FinetuneCell& now = it->second->meta;
                               c.metric = now.metric;
                               c.task_kind = now.task_kind;
                               c.heldout = now.heldout;
                               c.in_zoo = now.in_zoo;
                               return c.mcc.empty() && it->second->wants_mcc;
                             }),
              cells.end());
  out.without_mcc = kept - cells.size();
  std::set<std::string> have;
  for (const auto& c : cells) have.insert(c.key);
  for (const auto& g : grid) out.done.push_back(have.count(g.meta.key) > 0);
  out.results = std::move(file);
  return out;
}

}  // namespace tal
