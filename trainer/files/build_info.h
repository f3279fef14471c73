// What this binary was built from, as recorded in the files it writes.
#pragma once

#include <string>

namespace tal {

// `git rev-parse --short HEAD` at build time ("unknown" outside a git checkout), with "+dirty" when the tree had
// uncommitted changes.
std::string git_revision();

}  // namespace tal
