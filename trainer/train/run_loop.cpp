#include "trainer/train/run_loop.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "trainer/train/preemption.h"

namespace tal {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

std::string duration_text(double seconds) {
  char buf[32];
  const int s = static_cast<int>(seconds);
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", s / 3600, (s / 60) % 60);
  else std::snprintf(buf, sizeof buf, "%dm%02ds", s / 60, s % 60);
  return buf;
}

int run_loop(int64_t first, const LoopSchedule& sc, const LoopHooks& h) {
  install_preemption_handlers();
  const auto start = Clock::now();
  for (int64_t step = first; step < sc.total_steps; ++step) {
    const auto t0 = Clock::now();
    h.step(step);
    const int64_t done = step + 1;
    if (h.log && (done % sc.log_every == 0 || done == sc.total_steps))
      h.log(done, seconds_since(t0), seconds_since(start), done - first);
    const bool stage_end = std::find(sc.eval_at.begin(), sc.eval_at.end(), done) != sc.eval_at.end();
    if (h.evaluate && ((sc.eval_every > 0 && done % sc.eval_every == 0) || stage_end)) h.evaluate(done);
    // Step boundary: every rank learns whether any was asked to stop.
    const bool stop = h.any_rank(preemption_requested());
    const bool periodic = sc.checkpoint_every > 0 && done % sc.checkpoint_every == 0;
    if (h.save && (stop || periodic || done == sc.total_steps)) h.save();
    if (!stop && sc.until_step > 0 && done >= sc.until_step && done < sc.total_steps) {
      if (h.save && !periodic) h.save();
      h.say("stopped  after step " + std::to_string(done) + " (train.until_step); run again to continue");
      return 0;
    }
    if (stop) {
      h.say("preempted  at step " + std::to_string(done) + ": " + (h.save ? "checkpoint written; " : "") +
            "exiting with code " + std::to_string(kPreemptedExitCode) + " (requeue to continue)");
      return kPreemptedExitCode;
    }
  }
  return 0;
}

}  // namespace tal
