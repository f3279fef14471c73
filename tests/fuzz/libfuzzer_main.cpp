// libFuzzer's entry points for the targets of targets.h: TAL_FUZZ_TARGET names the target (launch/fuzz.sh sets it);
// TAL_FUZZ_MAKE_SEEDS=DIR writes every target's seed corpus instead and exits.
#include <ATen/Parallel.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/fuzz/targets.h"

namespace {
const tal::fuzz::Target* chosen = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("TAL_FUZZ_MAKE_SEEDS")) {  // the seed corpus of every target, in DIR/TARGET/
    for (const auto& t : tal::fuzz::targets()) t.seeds(std::string(dir) + "/" + t.name);
    std::exit(0);
  }
  const char* name = std::getenv("TAL_FUZZ_TARGET");
  chosen = name ? tal::fuzz::find_target(name) : nullptr;
  if (!chosen) {
    std::fprintf(stderr, "tal-fuzz: set TAL_FUZZ_TARGET to one of:");
    for (const auto& t : tal::fuzz::targets()) std::fprintf(stderr, " %s", t.name);
    std::fprintf(stderr, "\n");
    std::exit(2);
  }
  at::set_num_threads(1);  // one CPU per fuzzing process: campaigns are counted in CPU-minutes
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tal::fuzz::run_checked(*chosen, data, size);
  return 0;
}
