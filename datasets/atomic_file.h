// Files that appear complete or not at all: written under a temporary name beside the target, fsync'd, renamed.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace tal {

// Calls `write(tmp_path)`, which must create and close the file at tmp_path; then fsyncs it, renames it over
// `path` and fsyncs the directory. On any failure the temporary is removed and `path` is left untouched.
// The rule for every output path: a missing parent directory is created (only now, once the output is ready to be
// written); a path that is a directory is refused.
void write_atomically(const std::string& path, const std::function<void(const std::string& tmp_path)>& write);

// Refuses an output that would overwrite one of the command's inputs (the same file, by any path):
// "--logits-out pred.h5 is also the --archive: refusing to overwrite an input". `inputs` are (description, path)
// pairs, the description with its article ("the --archive", "a task store").
void require_distinct_output(const std::string& output_name, const std::string& output,
                             const std::vector<std::pair<std::string, std::string>>& inputs);

void fsync_path(const std::string& path);

// The temporary write_atomically writes `filename` under: ".FILENAME.tmp-HOST-PID", beside it.
std::string temporary_name(const std::string& filename);

// Removes the temporaries in `dir` (not its subfolders) whose writer died: this machine's, whose process no longer
// exists (a writer killed mid-write, SIGKILL or a node's OOM killer, leaves its temporary). Those of a live process,
// or of another machine (which this one cannot ask), are left. Returns the paths removed.
std::vector<std::string> sweep_dead_temporaries(const std::string& dir);

}  // namespace tal
