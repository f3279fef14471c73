// HDF5 1.10 trusts a file's internal addresses and lengths in places (its global heap, where variable-length
// strings live, above all): a corrupt or hostile file can crash the library, or send it round a loop, in a way no
// exception catches. So a reader of a file TAL did not just write rehearses first: the same reading function runs in
// a forked child (the same code on the same memory layout, so what would crash here crashes there), and only when
// the child finished does this process read. A child that dies or does not finish refuses the file in one line.
#pragma once

#include <functional>
#include <string>

namespace tal {

// Runs `read` in a child process (its stdout and stderr closed); throws tal::Error naming `path` when the child
// crashed, or ran longer than TAL_HDF5_CHECK_SECONDS (default 30, plus a second per 20 MB of file). Once per process
// for each `reader` of each file (by its size and modification time), so `read` must read everything that reader
// will read of it. Exceptions inside the child are dropped: the real read throws them again here. A reader calling
// itself from `read` just reads: in the child, rehearsals are no-ops.
void rehearse_in_child(const std::string& path, const std::string& reader, const std::function<void()>& read);

// A file this process has just written whole (write_atomically calls it) is its own output, not rehearsed while it
// stays as written: a grid that appends to an archive and reads it back does not re-read the archive each time.
void trust_file_written_here(const std::string& path);

}  // namespace tal
