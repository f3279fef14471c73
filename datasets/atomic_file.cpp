#include "datasets/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "base/error.h"
#include "datasets/h5_check.h"

namespace tal {

void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  TAL_REQUIRE(fd >= 0, path, ": cannot open for fsync");
  const int rc = ::fsync(fd);
  ::close(fd);
  TAL_REQUIRE(rc == 0, path, ": fsync failed");
}

namespace {

// This machine's name as temporaries carry it (letters, digits, '.', '_' and '-' only).
std::string host_name() {
  char name[256] = {0};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "host";
  std::string out(name);
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  return out;
}

}  // namespace

std::string temporary_name(const std::string& filename) {
  return "." + filename + ".tmp-" + host_name() + "-" + std::to_string(::getpid());
}

std::vector<std::string> sweep_dead_temporaries(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> removed;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return removed;
  const std::string here = host_name();
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const auto mark = name.rfind(".tmp-");
    const auto dash = name.rfind('-');
    if (name.empty() || name[0] != '.' || mark == std::string::npos || dash < mark + 4 || !entry.is_regular_file()) continue;
    // ".NAME.tmp-HOST-PID" (".NAME.tmp-PID" from before temporaries named their host: this machine's)
    const std::string host = dash == mark + 4 ? here : name.substr(mark + 5, dash - mark - 5);
    const std::string pid_text = name.substr(dash + 1);
    if (host != here || pid_text.empty() || pid_text.size() > 9 ||
        pid_text.find_first_not_of("0123456789") != std::string::npos)
      continue;
    const auto pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    if (fs::remove(entry.path(), ec)) removed.push_back(entry.path().string());
  }
  return removed;
}

void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  TAL_REQUIRE(!path.empty() && !fs::is_directory(target), path.empty() ? "(empty path)" : path,
              ": is a directory, not a file to write");
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(dir, ec);
  TAL_REQUIRE(fs::is_directory(dir), path, ": cannot create its directory ", dir.string(),
              ec ? " (" + ec.message() + ")" : "");
  const std::string tmp = (dir / temporary_name(target.filename().string())).string();
  try {
    write(tmp);
    fsync_path(tmp);
    TAL_REQUIRE(std::rename(tmp.c_str(), path.c_str()) == 0, path, ": cannot rename ", tmp, " into place");
    fsync_path(dir.string());
    trust_file_written_here(path);  // this process's own output is not rehearsed when it reads it back
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

void require_distinct_output(const std::string& output_name, const std::string& output,
                             const std::vector<std::pair<std::string, std::string>>& inputs) {
  namespace fs = std::filesystem;
  if (output.empty()) return;
  std::error_code ec;
  const auto out = fs::weakly_canonical(output, ec);
  for (const auto& [name, input] : inputs) {
    if (input.empty()) continue;
    std::error_code e1, e2;
    const bool same = (fs::exists(output) && fs::exists(input) && fs::equivalent(output, input, e1)) ||
                      (!ec && fs::weakly_canonical(input, e2) == out && !e2);
    TAL_REQUIRE(!same, output_name, " ", output, " is also ", name, ": refusing to overwrite an input");
  }
}

}  // namespace tal
