// Files that appear complete or not at all: written under a temporary name beside the target, fsync'd, renamed.
#pragma once

#include <functional>
#include <string>

namespace tal {

// Calls `write(tmp_path)`, which must create and close the file at tmp_path; then fsyncs it, renames it over
// `path` and fsyncs the directory. On any failure the temporary is removed and `path` is left untouched.
void write_atomically(const std::string& path, const std::function<void(const std::string& tmp_path)>& write);

void fsync_path(const std::string& path);

}  // namespace tal
