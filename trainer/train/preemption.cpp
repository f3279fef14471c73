#include "trainer/train/preemption.h"

#include <time.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

namespace tal {
namespace {

volatile std::sig_atomic_t g_requested = 0;
// When each signal first came (milliseconds on the monotonic clock, modulo about 11 days; 0: not yet).
volatile std::sig_atomic_t g_seen_term = 0, g_seen_usr1 = 0, g_seen_int = 0;

std::sig_atomic_t now_ms() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::sig_atomic_t>((t.tv_sec % 1000000) * 1000 + t.tv_nsec / 1000000 + 1);
}

// The first signal of a kind asks for a checkpoint at the next step boundary; the same signal again, at least two
// seconds later, means "now": a boundary may never come (a peer that died mid-step leaves the others waiting in a
// collective). Copies of one signal (Slurm signals every process of the job, and mpirun forwards it too) arrive
// together and count once. Only async-signal-safe calls: clock_gettime, write, signal, raise.
extern "C" void on_preemption_signal(int sig) {
  volatile std::sig_atomic_t& seen = sig == SIGTERM ? g_seen_term : sig == SIGUSR1 ? g_seen_usr1 : g_seen_int;
  const std::sig_atomic_t now = now_ms();
  if (seen && now - seen >= 0 && now - seen < 2000) return;  // a copy of the first
  if (seen) {
    const char* text = sig == SIGTERM ? "tal: a second SIGTERM: exiting now, without the checkpoint\n"
                       : sig == SIGINT ? "tal: a second SIGINT: exiting now, without the checkpoint\n"
                                       : "tal: a second SIGUSR1: exiting now, without the checkpoint\n";
    const ssize_t ignored = ::write(2, text, std::strlen(text));
    (void)ignored;
    std::signal(sig, SIG_DFL);
    std::raise(sig);  // ends the process as the signal's default does (the exit status says which signal)
    return;
  }
  seen = now;
  g_requested = 1;
}

}  // namespace

void install_preemption_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_preemption_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGUSR1, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

bool preemption_requested() { return g_requested != 0; }

}  // namespace tal
