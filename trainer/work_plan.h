// Who computes what in a step: pure functions of (unit costs, images per unit, world), so every rank derives
// the same plan and tests can check it by looping over ranks in one process.
#pragma once

#include <cstdint>
#include <vector>

namespace tal {

// Images [first, first + count) of work unit `unit`.
struct WorkPiece {
  int64_t unit = 0;
  int64_t first = 0;
  int64_t count = 0;
};

// With at least as many units as ranks, whole units go to ranks greedily, largest cost first, each to the least
// loaded rank (ties: lower rank). With fewer units than ranks, rank r works on unit r mod m and a unit's images
// are split evenly among its ranks (each of which predicts that architecture itself).
std::vector<std::vector<WorkPiece>> plan_work(const std::vector<int64_t>& unit_costs, int64_t images_per_unit,
                                              int64_t world);

}  // namespace tal
