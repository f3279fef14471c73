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
#include "hypernet/hypernet_config.h"
#include "hypernet/zoo.h"

namespace tal {

// Images [first, first + count) of work unit `unit`: a run of whole chunks.
struct WorkPiece {
  int64_t unit = 0;
  int64_t first = 0;
  int64_t count = 0;
};

// What the cost model says one unit costs, in seconds on a reference core: floating-point operations times a
// measured time per operation of each kind (the kinds run at very different rates: large GEMMs in the target,
// many small ones in the hypernetwork), and bytes times a measured exchange rate.
struct UnitCost {
  double per_image = 0;  // the target's forward and backward on one image
  double predict = 0;    // the hypernetwork's forward: paid by every rank that touches the unit
  double backward = 0;   // the hypernetwork's backward: paid once, by the unit's owner
  double exchange = 0;   // adding up a shared unit's target gradient over its ranks: paid by each of them
};

// The cost model of a unit: from its spec, its graph and the hypernetwork's configuration (a pure function).
UnitCost unit_cost(const HypernetConfig& hypernet, const ArchSpec& spec);

// A unit's images come in fixed chunks of `chunk_images` (the last one smaller; 0: the whole unit is one chunk),
// the same chunks whatever the number of ranks: each chunk's gradient is computed alone, so it is the same bits
// wherever it is computed, and a unit can be shared by ranks without changing the sum.
int64_t chunk_count(int64_t images, int64_t chunk_images);
int64_t chunk_first(int64_t chunk, int64_t chunk_images);
int64_t chunk_size(int64_t chunk, int64_t images, int64_t chunk_images);

struct WorkPlan {
  std::vector<std::vector<WorkPiece>> ranks;  // each rank's pieces, in unit order
  std::vector<int64_t> owner;                 // per unit: the rank that runs its hypernet backward
  std::vector<int64_t> touching;              // per unit: how many ranks predict it
  std::vector<double> load;                   // per rank: modelled cost, duplicated predictions included
  bool split(int64_t unit) const { return touching[static_cast<size_t>(unit)] > 1; }
  double balance() const;                     // mean load / max load (1: perfect)
  double duplicated_predict(const std::vector<UnitCost>& costs) const;  // share of prediction work done twice
};

// Largest units first, each to the least loaded rank; a unit that would push that rank above the mean load is
// split at chunk boundaries and continued on the next least loaded rank. The plan without splits is kept instead
// when its modelled makespan is no longer (splitting costs predictions twice and an exchange). A pure function of
// its arguments: every rank derives the same plan.
WorkPlan plan_work(const std::vector<UnitCost>& costs, int64_t images_per_unit, int64_t chunk_images, int64_t world);

struct UnitPlan {
  ArchSpec spec;
  UnitCost cost;
  std::vector<int64_t> positions;  // task positions of the unit's images (training split)
  std::vector<uint64_t> augment;   // their augmentation seeds
  uint64_t class_row_seed = 0;
};

struct StepPlan {
  int64_t step = 0;
  bool pretrain = true;
  int64_t task = 0;  // index into the planner's tasks
  std::vector<UnitPlan> units;
  int64_t chunk_images = 0;
  // The step's work over `world` ranks, balanced by the cost model.
  WorkPlan work(int64_t world) const;
};

struct PlannerTask {
  int64_t train_images = 0;
  ZooRules rules;  // the zoo with this task's data shape
};

struct PlannerConfig {
  uint64_t seed = 0;
  int64_t meta_batch = 4;       // units per step
  int64_t batch = 64;           // images per unit
  int64_t chunk_images = 0;     // images per chunk (0: a unit is one chunk)
  HypernetConfig hypernet;      // for the cost model
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
