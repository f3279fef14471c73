#include "datasets/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "base/error.h"

namespace tal {

void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  TAL_REQUIRE(fd >= 0, path, ": cannot open for fsync");
  const int rc = ::fsync(fd);
  ::close(fd);
  TAL_REQUIRE(rc == 0, path, ": fsync failed");
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
  const std::string tmp = (dir / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()))).string();
  try {
    write(tmp);
    fsync_path(tmp);
    TAL_REQUIRE(std::rename(tmp.c_str(), path.c_str()) == 0, path, ": cannot rename ", tmp, " into place");
    fsync_path(dir.string());
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
