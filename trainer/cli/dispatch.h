// Dispatch of `tal GROUP SUB ...` (tal zoo sample, tal bench step, ...): usage on --help or no argument, one clear
// line for an unknown subcommand.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "trainer/cli/commands.h"

namespace tal {

struct Subcommand {
  std::string name;
  std::string usage;  // one line: what to type and what it does
  std::function<int(const Args&)> run;
};

int dispatch(const std::string& group, const Args& args, const std::vector<Subcommand>& subs);

}  // namespace tal
