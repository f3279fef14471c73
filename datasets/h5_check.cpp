#include "datasets/h5_check.h"

#include <ATen/Parallel.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>
#include <thread>
#include <tuple>
#include <utility>

#include "base/error.h"

// Present in sanitizer builds only.
extern "C" void __sanitizer_set_death_callback(void (*)(void)) __attribute__((weak));

namespace tal {
namespace {

bool in_child = false;  // set in a rehearsing child, where a nested reader just reads

// A file as stat sees it: its device, inode, size and modification time.
using FileState = std::tuple<dev_t, ino_t, off_t, int64_t, int64_t>;
FileState state_of(const struct stat& st) {
  return {st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
}

std::mutex mutex;
std::vector<std::pair<std::string, FileState>> rehearsed;  // (reader, file): the last 256
std::vector<FileState> written_here;                      // the last 256 files this process wrote whole

template <class T>
void remember(std::vector<T>& list, T item) {
  if (list.size() == 256) list.erase(list.begin());
  list.push_back(std::move(item));
}

double timeout_seconds(int64_t file_bytes) {
  const char* env = std::getenv("TAL_HDF5_CHECK_SECONDS");
  char* end = nullptr;
  const double s = env ? std::strtod(env, &end) : 30;
  const double base = env && (end == env || *end || !(s > 0)) ? 30 : s;
  return base + static_cast<double>(file_bytes) / (20 << 20);
}

// "" when the child finished; else what happened to it.
std::string rehearse_once(const std::string& path, int64_t file_bytes, const std::function<void()>& read) {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {  // no memory or process left for a child: read without the guard, and say so
    std::fprintf(stderr, "tal: warning: %s: read without its rehearsal (fork: %s)\n", path.c_str(), std::strerror(errno));
    return "";
  }
  if (pid == 0) {
    in_child = true;
    // The child dies of what it meets, by the default action: not through this process's handlers (a fuzzer's crash
    // dump of its input), and without a sanitizer's death callback. A preemption signal sent to the whole job
    // (Slurm's TERM or USR1) is the parent's to act on: the child ignores it (its time limit still bounds it), and
    // it dies with the parent, however that ends.
    for (const int sig : {SIGABRT, SIGBUS, SIGILL, SIGFPE}) ::signal(sig, SIG_DFL);
    for (const int sig : {SIGTERM, SIGINT, SIGUSR1}) ::signal(sig, SIG_IGN);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(0);
    if (&__sanitizer_set_death_callback) __sanitizer_set_death_callback(nullptr);
    // What the reader prints is the parent's to print. Tests name a file for the child's stderr instead, to tell a
    // sanitizer's report on TAL's code from a crash inside HDF5 (tests/fuzz).
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, 1), ::dup2(null, 2);
    if (const char* log = std::getenv("TAL_REHEARSAL_STDERR")) {
      const int fd = ::open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) ::dup2(fd, 2);
    }
    at::set_num_threads(1);  // the parent's OpenMP team did not survive the fork: no parallel region may start one
    try {
      read();
    } catch (...) {  // the parent's own read says what is wrong
    }
    ::_exit(0);
  }
  const double limit = timeout_seconds(file_bytes);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(limit);
  auto pause = std::chrono::microseconds(50);
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return "";  // reaped elsewhere (SIGCHLD ignored): nothing is known
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return "timeout";
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const bool crash = sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT || sig == SIGILL || sig == SIGFPE || sig == SIGSYS;
    TAL_REQUIRE(crash, path, ": the check of this HDF5 file was interrupted (", strsignal(sig), ")");
    return std::string("crashed (") + strsignal(sig) + ")";
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    return "crashed (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
  return "";
}

}  // namespace

void rehearse_in_child(const std::string& path, const std::string& reader, const std::function<void()>& read) {
  if (in_child) return;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;  // the reader says what is wrong with the path
  const FileState state = state_of(st);
  const auto key = std::make_pair(reader + "\n" + path, state);
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (std::find(written_here.begin(), written_here.end(), state) != written_here.end()) return;
    if (std::find(rehearsed.begin(), rehearsed.end(), key) != rehearsed.end()) return;
  }
  std::string what = rehearse_once(path, st.st_size, read);
  // A child stuck on a lock that another thread of this process held when it forked is told from a hostile file by
  // trying once more: a broken file stays broken.
  if (what == "timeout") what = rehearse_once(path, st.st_size, read);
  // A time-out is not called corruption: a slow filesystem (every rank reading one checkpoint) looks the same.
  TAL_REQUIRE(what != "timeout", path, ": reading it did not finish in ", static_cast<int64_t>(timeout_seconds(st.st_size)),
              " s, twice, in the separate process that checks HDF5 files first (a file that sends HDF5 round a loop, or "
              "a slow filesystem: raise TAL_HDF5_CHECK_SECONDS)");
  TAL_REQUIRE(what.empty(), path, ": corrupt HDF5 file: the HDF5 library ", what,
              " reading it (rehearsed in a separate process, so this one was not affected)");
  std::lock_guard<std::mutex> lock(mutex);
  remember(rehearsed, key);
}

void trust_file_written_here(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;
  std::lock_guard<std::mutex> lock(mutex);
  remember(written_here, state_of(st));
}

}  // namespace tal
