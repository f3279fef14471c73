// What a training step computes and who computes it. The global meta-batch of a step (DESIGN.md 4.4) is a pure
// function of (seed, step, sampler cursors): which task, which m architectures, which b images of the task for
// each, their augmentation and class-row seeds. Its split over ranks is a pure function of (plan, rank, world).
// Every rank derives the same plan, and tests check both by looping over ranks in one process.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "datasets/task_sampler.h"
#include "datasets/tasks.h"
#include "hypernet/arch_spec.h"
#include "hypernet/zoo.h"

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

struct UnitPlan {
  ArchSpec spec;
  std::vector<int64_t> positions;  // task positions of the unit's images (training split)
  std::vector<uint64_t> augment;   // their augmentation seeds
  uint64_t class_row_seed = 0;
};

struct StepPlan {
  int64_t step = 0;
  bool pretrain = true;
  int64_t task = 0;  // index into the planner's tasks
  std::vector<UnitPlan> units;
  // This rank's pieces, balanced by predicted-parameter count.
  std::vector<WorkPiece> pieces_for(int64_t rank, int64_t world) const;
};

struct PlannerTask {
  int64_t train_images = 0;
  ZooRules rules;  // the zoo with this task's data shape
};

struct PlannerConfig {
  uint64_t seed = 0;
  int64_t meta_batch = 4;       // units per step
  int64_t batch = 64;           // images per unit
  int64_t pretrain_steps = 0;   // steps [0, pretrain_steps) draw from pretrain_tasks, later ones from multitask_tasks
  std::vector<PlannerTask> tasks;
  std::vector<int64_t> pretrain_tasks, multitask_tasks;
  double temperature = 2.0;     // of the multi-task sampler (stage 1 samples in proportion to size)
};

class StepPlanner {
 public:
  explicit StepPlanner(PlannerConfig config);
  const PlannerConfig& config() const { return config_; }
  // Stream cursors before any step: the stage-1 sampler's, then the multi-task sampler's.
  std::vector<int64_t> initial_cursors() const;
  // The task a step draws, without claiming images.
  int64_t task_of(int64_t step) const;
  // Step `step`'s global meta-batch; advances `cursors` past the images it claims.
  StepPlan plan(int64_t step, std::vector<int64_t>& cursors) const;

 private:
  PlannerConfig config_;
  std::unique_ptr<TaskSampler> pretrain_sampler_, multitask_sampler_;
  mutable std::vector<TaskStream> streams_;  // per task; caches one epoch's order (a pure function of the epoch)
};

}  // namespace tal
