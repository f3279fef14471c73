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
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  TAL_REQUIRE(fs::is_directory(dir), path, ": directory ", dir.string(), " does not exist");
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

}  // namespace tal
