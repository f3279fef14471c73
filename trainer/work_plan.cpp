#include "trainer/work_plan.h"

#include <algorithm>
#include <numeric>

#include "hypernet/error.h"

namespace tal {

std::vector<std::vector<WorkPiece>> plan_work(const std::vector<int64_t>& costs, int64_t b, int64_t world) {
  TAL_ASSERT(world >= 1 && b >= 1 && !costs.empty());
  const auto m = static_cast<int64_t>(costs.size());
  std::vector<std::vector<WorkPiece>> plan(static_cast<size_t>(world));
  if (m >= world) {
    std::vector<int64_t> order(static_cast<size_t>(m));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t c) { return costs[a] > costs[c]; });
    std::vector<int64_t> load(static_cast<size_t>(world), 0);
    for (auto u : order) {
      const auto r = std::min_element(load.begin(), load.end()) - load.begin();
      load[static_cast<size_t>(r)] += costs[static_cast<size_t>(u)];
      plan[static_cast<size_t>(r)].push_back({u, 0, b});
    }
    for (auto& p : plan) std::sort(p.begin(), p.end(), [](const WorkPiece& a, const WorkPiece& c) { return a.unit < c.unit; });
    return plan;
  }
  for (int64_t u = 0; u < m; ++u) {
    std::vector<int64_t> ranks;
    for (int64_t r = u; r < world; r += m) ranks.push_back(r);
    const auto k = static_cast<int64_t>(ranks.size());
    for (int64_t j = 0; j < k; ++j) {
      const int64_t lo = b * j / k, hi = b * (j + 1) / k;
      plan[static_cast<size_t>(ranks[static_cast<size_t>(j)])].push_back({u, lo, hi - lo});
    }
  }
  return plan;
}

}  // namespace tal
