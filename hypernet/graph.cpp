#include "hypernet/graph.h"

#include "base/error.h"
#include "hypernet/family.h"

namespace tal {

const char* op_name(Op op) {
  static const char* names[kNumOps] = {"max_pool", "avg_pool", "sep_conv", "dil_conv", "conv",
                                       "msa",      "cse",      "sum",      "concat",   "input",
                                       "bias",     "bn",       "ln",       "pos_enc",  "glob_avg"};
  return names[static_cast<int64_t>(op)];
}

Graph build_graph(const ArchSpec& spec, int cutoff) {
  TAL_REQUIRE(cutoff >= 1 && cutoff <= 255, "virtual-edge cutoff must be in 1..255, got ", cutoff);
  spec.validate();
  return spec.family().graph(spec, cutoff);
}

}  // namespace tal
