// Multi-task sampling: one task per step with p(t) proportional to (n_t / N)^(1/T). The task of a step is a pure
// function of (seed, step), so every rank draws the same task without communication; the per-task stream
// cursors are the only state, and they are saved and restored exactly.
#pragma once

#include <cstdint>
#include <vector>

namespace tal {

class TaskSampler {
 public:
  TaskSampler(std::vector<int64_t> sizes, double temperature, uint64_t seed);
  const std::vector<double>& probabilities() const { return probs_; }
  int64_t task_at(int64_t step) const;
  // Claims `count` consecutive positions of task t's stream; returns the first.
  int64_t claim(int64_t task, int64_t count);
  const std::vector<int64_t>& cursors() const { return cursors_; }
  void restore(const std::vector<int64_t>& cursors);

 private:
  std::vector<double> probs_, cdf_;
  uint64_t seed_;
  std::vector<int64_t> cursors_;
};

}  // namespace tal
