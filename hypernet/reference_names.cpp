#include "hypernet/reference_names.h"

namespace tal {

bool is_reference_only_name(const std::string& name) {
  return name.rfind("decoder.l1.", 0) == 0 || name.rfind("decoder.seq.1.", 0) == 0;
}

int64_t reference_only_param_count(const std::string& family, const HypernetConfig& config) {
  return family == "logah" ? config.rank * config.rank + config.rank : 0;
}

}  // namespace tal
