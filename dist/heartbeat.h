// Heartbeats from every rank to rank 0 over a plain TCP connection, outside MPI, so rank 0 can name a rank that
// goes silent whatever the ranks are doing (computing, or blocked inside a collective whose data will never come):
// a host lost from the network, a stopped process, or a process that ended without saying goodbye.
// Each rank's heartbeat thread sends one byte a second; rank 0's thread warns once per silence:
//   tal: warning [rank 0]: rank 1 (on h2) silent for 10 s (its host is unreachable or the process is stopped)
//   tal: warning [rank 0]: rank 1 (on h2) ended without saying goodbye (the process died)
// It only warns: ending the job is for the launcher and the collective watchdog. Where the connection cannot be
// made (a firewall), each rank says so once and training goes on without it.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace tal {

class Heartbeat {
 public:
  // `share` broadcasts rank 0's text (its addresses and port) to every rank; `hosts` names each rank's host.
  // `warn_after`: seconds of silence before rank 0 warns (at least 3 s: three missed beats).
  Heartbeat(int rank, int world, std::vector<std::string> hosts, double warn_after,
            const std::function<std::string(const std::string&)>& share);
  ~Heartbeat();  // says goodbye (a clean end is not a death) and joins the thread
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

 private:
  void serve();               // rank 0
  void beat(std::string at);  // every other rank: "ip,ip,...:port"

  int rank_, world_;
  std::vector<std::string> hosts_;
  double warn_after_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace tal
