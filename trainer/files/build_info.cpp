#include "trainer/files/build_info.h"

#include "trainer/files/git_revision.h"  // generated at build time: TAL_GIT_REVISION

namespace tal {

std::string git_revision() { return TAL_GIT_REVISION; }

}  // namespace tal
