// Every HDF5 file the framework writes says what it is and in which format version: a root attribute `kind`
// (tal-checkpoint, tal-archive, ...) and `format_version`. Readers check both before anything else.
#pragma once

#include <cstdint>
#include <string>

namespace tal {

class H5File;

void stamp_kind(H5File& f, const std::string& kind, int64_t version);
// Throws naming the file: not TAL's, another kind ("is a tal-zoo file, not a checkpoint"), or a version this build
// does not read. `what` names the kind for people ("checkpoint"); `hint` says how to make a right one.
void require_kind(const H5File& f, const std::string& kind, int64_t version, const std::string& what,
                  const std::string& hint = "");
// The same for a reader of versions oldest..newest; returns the file's version.
int64_t require_kind_versions(const H5File& f, const std::string& kind, int64_t oldest, int64_t newest,
                              const std::string& what, const std::string& hint = "");

}  // namespace tal
