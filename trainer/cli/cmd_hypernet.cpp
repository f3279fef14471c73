// tal hypernet info: the parameter count of each module of a configured hypernetwork.
#include <cstdio>

#include "base/error.h"
#include "hypernet/hypernet.h"
#include "trainer/cli/commands.h"
#include "trainer/cli/dispatch.h"
#include "trainer/config/command_line.h"
#include "trainer/config/commands.h"
#include "trainer/train/format.h"

namespace tal {
namespace {

int hypernet_info(const Args& args) {
  const auto parsed = command_options(command_table("hypernet info"), args,
                                      "tal hypernet info --config FILE [hypernet.key=value ...]");
  if (!parsed) return 0;
  const auto o = *parsed;
  o.check_memory(false);
  const Hypernet net(o.hypernet);
  std::printf("hypernet  %s\n\n", o.hypernet.describe().c_str());
  std::printf("%-14s %14s\n", "module", "parameters");
  for (const auto& [name, n] : net.parameter_counts()) std::printf("%-14s %14s\n", name.c_str(), with_commas(n).c_str());
  std::printf("%-14s %14s\n", "total", with_commas(net.num_parameters()).c_str());
  if (o.hypernet.low_rank())
    std::printf("\n(decoder_1d and bias_class are the reference's unused 1x1 placeholders, kept so counts and\n"
                " checkpoint names match LoGAH/TAL)\n");
  return 0;
}

}  // namespace

int run_hypernet(const Args& args) {
  return dispatch("hypernet", args, {{"info", "tal hypernet info --config FILE   parameter count per module", hypernet_info}});
}

}  // namespace tal
