#include "dist/heartbeat.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace tal {
namespace {

using Clock = std::chrono::steady_clock;
constexpr unsigned char kBeat = 1, kGoodbye = 2;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// This host's IPv4 addresses, loopback last (others reach rank 0 through the first that connects).
std::vector<std::string> local_addresses() {
  std::vector<std::string> out, loopback;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {"127.0.0.1"};
  for (auto* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text);
    (std::strncmp(text, "127.", 4) == 0 ? loopback : out).push_back(text);
  }
  freeifaddrs(list);
  out.insert(out.end(), loopback.begin(), loopback.end());
  return out;
}

// A connected socket to ip:port within `timeout` seconds, or -1.
int connect_within(const std::string& ip, int port, double timeout) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) {
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    rc = poll(&p, 1, static_cast<int>(timeout * 1000)) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
                 err == 0
             ? 0
             : -1;
  }
  if (rc != 0) {
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

Heartbeat::Heartbeat(int rank, int world, std::vector<std::string> hosts, double warn_after,
                     const std::function<std::string(const std::string&)>& share)
    : rank_(rank), world_(world), hosts_(std::move(hosts)), warn_after_(std::max(3.0, warn_after)) {
  std::string where;
  int socket_error = 0;
  if (rank_ == 0) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t len = sizeof addr;
    if (listen_fd_ >= 0 && bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        listen(listen_fd_, world_) == 0 && getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      for (const auto& ip : local_addresses()) where += (where.empty() ? "" : ",") + ip;
      where += ":" + std::to_string(ntohs(addr.sin_port));
    } else {
      socket_error = errno;
      if (listen_fd_ >= 0) close(listen_fd_);
      listen_fd_ = -1;
    }
  }
  where = share(where);  // every rank learns where rank 0 listens ("" when it could not)
  if (where.empty()) {
    if (rank_ == 0) std::fprintf(stderr, "tal: warning [rank 0]: no heartbeat socket (%s); lost ranks will not be named\n",
                                 std::strerror(socket_error));
    return;
  }
  if (rank_ == 0)
    thread_ = std::thread([this] { serve(); });
  else
    thread_ = std::thread([this, where] { beat(where); });
}

Heartbeat::~Heartbeat() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

void Heartbeat::beat(std::string at) {
  const auto colon = at.rfind(':');
  const int port = std::atoi(at.c_str() + colon + 1);
  std::vector<std::string> ips;
  std::stringstream list(at.substr(0, colon));
  for (std::string ip; std::getline(list, ip, ',');) ips.push_back(ip);
  // Rank 0's loopback address is only worth trying from rank 0's own host.
  int fd = -1;
  for (const auto& ip : ips) {
    if (stop_) return;
    if (ip.rfind("127.", 0) == 0 && hosts_[static_cast<size_t>(rank_)] != hosts_[0]) continue;
    if ((fd = connect_within(ip, port, 2.0)) >= 0) break;
  }
  if (fd < 0) {
    if (stop_) return;  // a job shorter than the attempts: nothing to warn about
    std::fprintf(stderr, "tal: warning [rank %d]: cannot reach rank 0's heartbeat socket at %s; this rank will not be "
                 "named if it is lost\n", rank_, at.c_str());
    return;
  }
  const int32_t me = rank_;
  bool ok = send(fd, &me, sizeof me, MSG_NOSIGNAL) == sizeof me;
  auto last = Clock::now() - std::chrono::seconds(1);
  while (ok && !stop_) {
    if (seconds_since(last) >= 1.0) {
      ok = send(fd, &kBeat, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1 || errno == EAGAIN;
      last = Clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (ok) send(fd, &kGoodbye, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  close(fd);
}

void Heartbeat::serve() {
  struct Peer {
    int rank = -1;                 // unknown until its 4-byte hello is complete
    unsigned char hello[4] = {};
    size_t hello_bytes = 0;
    Clock::time_point seen = Clock::now();
    bool warned = false;
  };
  std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}};
  std::vector<Peer> peers = {{}};  // parallel to fds; [0] is the listening socket
  std::vector<bool> known(static_cast<size_t>(world_), false);
  auto name = [&](int r) { return std::to_string(r) + " (on " + hosts_[static_cast<size_t>(r)] + ")"; };
  auto drop = [&](size_t& i) {
    if (peers[i].rank >= 0) known[static_cast<size_t>(peers[i].rank)] = false;
    close(fds[i].fd);
    fds.erase(fds.begin() + static_cast<long>(i));
    peers.erase(peers.begin() + static_cast<long>(i));
    --i;
  };
  while (!stop_) {
    if (poll(fds.data(), fds.size(), 250) < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        fds.push_back({fd, POLLIN, 0});
        peers.push_back({});
      }
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      auto& p = peers[i];
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        unsigned char buf[64];
        const bool hello = p.rank < 0;
        const ssize_t n = hello ? recv(fds[i].fd, p.hello + p.hello_bytes, sizeof p.hello - p.hello_bytes, 0)
                                : recv(fds[i].fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (hello) {
          if (n <= 0) {  // a connection that never said who it is: not a rank of this job
            drop(i);
            continue;
          }
          p.hello_bytes += static_cast<size_t>(n);
          if (p.hello_bytes < sizeof p.hello) continue;
          int32_t r = 0;
          std::memcpy(&r, p.hello, sizeof r);
          if (r < 1 || r >= world_ || known[static_cast<size_t>(r)]) {
            drop(i);
            continue;
          }
          p.rank = r;
          known[static_cast<size_t>(r)] = true;
          p.seen = Clock::now();
          continue;
        }
        const bool goodbye = n > 0 && std::memchr(buf, kGoodbye, static_cast<size_t>(n)) != nullptr;
        if (n <= 0 || goodbye) {
          if (n <= 0)
            std::fprintf(stderr, "tal: warning [rank 0]: rank %s ended without saying goodbye (the process died or "
                         "its connection was reset)\n", name(p.rank).c_str());
          drop(i);
          continue;
        }
        if (p.warned)
          std::fprintf(stderr, "tal: warning [rank 0]: rank %s is heard from again after %.0f s\n", name(p.rank).c_str(),
                       seconds_since(p.seen));
        p.seen = Clock::now();
        p.warned = false;
      } else if (p.rank < 0 && seconds_since(p.seen) > 10) {
        drop(i);  // connected but silent about who it is
      } else if (p.rank >= 0 && !p.warned && seconds_since(p.seen) > warn_after_) {
        p.warned = true;
        std::fprintf(stderr, "tal: warning [rank 0]: rank %s silent for %.0f s (its host is unreachable or the process "
                     "is stopped)\n", name(p.rank).c_str(), warn_after_);
      }
    }
    std::fflush(stderr);
  }
  for (size_t i = 1; i < fds.size(); ++i) close(fds[i].fd);
}

}  // namespace tal
