#include "datasets/h5_check.h"

#include <ATen/Parallel.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>
#include <thread>
#include <tuple>

#include "base/error.h"

namespace tal {
namespace {

bool in_child = false;  // set in a rehearsing child, where a nested reader just reads

double timeout_seconds(int64_t file_bytes) {
  const char* env = std::getenv("TAL_HDF5_CHECK_SECONDS");
  char* end = nullptr;
  const double s = env ? std::strtod(env, &end) : 30;
  const double base = env && (end == env || *end || !(s > 0)) ? 30 : s;
  return base + static_cast<double>(file_bytes) / (20 << 20);
}

// "" when the child finished; else what happened to it.
std::string rehearse_once(const std::string& path, int64_t file_bytes, const std::function<void()>& read) {
  const pid_t pid = ::fork();
  TAL_REQUIRE(pid >= 0, path, ": cannot start the process that rehearses reading it (fork: ", std::strerror(errno), ")");
  if (pid == 0) {
    in_child = true;
    const int null = ::open("/dev/null", O_WRONLY);  // what the reader prints is the parent's to print
    if (null >= 0) ::dup2(null, 1), ::dup2(null, 2);
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
      return "did not finish reading it in " + std::to_string(static_cast<int64_t>(limit)) + " s";
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
  if (WIFSIGNALED(status)) return std::string("crashed reading it (") + strsignal(WTERMSIG(status)) + ")";
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    return "failed reading it (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
  return "";
}

}  // namespace

void rehearse_in_child(const std::string& path, const std::string& reader, const std::function<void()>& read) {
  if (in_child) return;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;  // the reader says what is wrong with the path
  using Key = std::tuple<std::string, std::string, dev_t, ino_t, off_t, int64_t, int64_t>;
  const Key key{reader, path, st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
  static std::mutex mutex;
  static std::vector<Key> rehearsed;  // the last 256 files (a long-lived process may read many)
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (std::find(rehearsed.begin(), rehearsed.end(), key) != rehearsed.end()) return;
  }
  std::string what = rehearse_once(path, st.st_size, read);
  // A child stuck on a lock that another thread of this process held when it forked is told from a hostile file by
  // trying once more: a broken file stays broken.
  if (what.rfind("did not finish", 0) == 0) what = rehearse_once(path, st.st_size, read);
  TAL_REQUIRE(what.empty(), path, ": corrupt HDF5 file: the HDF5 library ", what,
              " (rehearsed in a separate process, so this one was not affected)");
  std::lock_guard<std::mutex> lock(mutex);
  if (rehearsed.size() == 256) rehearsed.erase(rehearsed.begin());
  rehearsed.push_back(key);
}

}  // namespace tal
