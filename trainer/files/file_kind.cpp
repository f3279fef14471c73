#include "trainer/files/file_kind.h"

#include "base/error.h"
#include "datasets/h5.h"

namespace tal {

void stamp_kind(H5File& f, const std::string& kind, int64_t version) {
  f.set_attr("/", "kind", kind);
  f.set_attr("/", "format_version", version);
}

void require_kind(const H5File& f, const std::string& kind, int64_t version, const std::string& what,
                  const std::string& hint) {
  require_kind_versions(f, kind, version, version, what, hint);
}

int64_t require_kind_versions(const H5File& f, const std::string& kind, int64_t oldest, int64_t newest,
                              const std::string& what, const std::string& hint) {
  const std::string tail = hint.empty() ? "" : " (HINT: " + hint + ")";
  TAL_REQUIRE(f.has_attr("/", "kind"), f.path(), ": not a TAL ", what, " (no 'kind' attribute)", tail);
  const auto found = f.attr_str("/", "kind");
  const bool vowel = !what.empty() && std::string("aeiou").find(what[0]) != std::string::npos;
  TAL_REQUIRE(found == kind, f.path(), ": is a ", found, " file, not ", vowel ? "an " : "a ", what, tail);
  TAL_REQUIRE(f.has_attr("/", "format_version"), f.path(), ": ", what, " without a format_version attribute");
  const auto v = f.attr_int("/", "format_version");
  TAL_REQUIRE(v >= oldest && v <= newest, f.path(), ": ", what, " format version ", v, "; this build reads version ",
              oldest == newest ? std::to_string(newest) : std::to_string(oldest) + " to " + std::to_string(newest));
  return v;
}

}  // namespace tal
