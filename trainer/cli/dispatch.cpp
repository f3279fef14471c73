#include "trainer/cli/dispatch.h"

#include <iostream>

#include "base/error.h"

namespace tal {

int dispatch(const std::string& group, const Args& args, const std::vector<Subcommand>& subs) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage:\n";
    for (const auto& s : subs) std::cout << "  " << s.usage << "\n";
    return args.empty() ? 2 : 0;
  }
  std::string names;
  for (const auto& s : subs) {
    if (args[0] == s.name) return s.run(Args(args.begin() + 1, args.end()));
    names += (names.empty() ? "" : ", ") + s.name;
  }
  TAL_REQUIRE(false, "command line: unknown 'tal ", group, " ", args[0], "' (expected ", names, ")");
  return 2;
}

}  // namespace tal
