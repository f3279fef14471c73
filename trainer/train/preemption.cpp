#include "trainer/train/preemption.h"

#include <csignal>

namespace tal {
namespace {

volatile std::sig_atomic_t g_requested = 0;

extern "C" void on_preemption_signal(int) { g_requested = 1; }

}  // namespace

void install_preemption_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_preemption_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGUSR1, &sa, nullptr);
}

bool preemption_requested() { return g_requested != 0; }

}  // namespace tal
