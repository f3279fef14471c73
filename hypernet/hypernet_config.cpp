#include "hypernet/hypernet_config.h"

#include <sstream>

#include "base/error.h"
#include "base/suggest.h"

namespace tal {

const std::vector<std::string>& hypernet_variant_names() {
  static const std::vector<std::string> names = {"ghn3", "logah", "tal"};
  return names;
}

void HypernetConfig::validate(const std::string& origin) const {
  TAL_REQUIRE(is_one_of(variant, hypernet_variant_names()), origin, ": key 'hypernet.variant': unknown '", variant,
              "' (expected ", join_choices(hypernet_variant_names()), ")");
  auto positive = [&](const char* key, int64_t v) {
    TAL_REQUIRE(v > 0, origin, ": key 'hypernet.", key, "': must be positive, got ", v);
  };
  positive("hidden", hidden);
  positive("layers", layers);
  positive("heads", heads);
  positive("rank", rank);
  positive("max_shape", max_shape);
  positive("spatial", spatial);
  positive("max_ck", max_ck);
  positive("num_classes", num_classes);
  positive("task_dim", task_dim);
  TAL_REQUIRE(task_layer >= 0, origin, ": key 'hypernet.task_layer': must be >= 0, got ", task_layer);
  TAL_REQUIRE(hidden % heads == 0, origin, ": key 'hypernet.heads': ", heads, " does not divide hypernet.hidden ",
              hidden);
  TAL_REQUIRE(hidden % 4 == 0, origin, ": key 'hypernet.hidden': ", hidden,
              " must be a multiple of 4 (the shape encoder splits it in four)");
  if (low_rank())
    TAL_REQUIRE(max_ck >= max_shape, origin, ": key 'hypernet.max_ck': ", max_ck,
                " must be >= hypernet.max_shape ", max_shape, " (factors must cover the widest decoded dimension)");
}

std::string HypernetConfig::describe() const {
  std::ostringstream out;
  out << variant << " d=" << hidden << " L=" << layers << " H=" << heads;
  if (low_rank()) out << " r=" << rank << " ck=" << max_ck;
  out << " max_shape=" << max_shape << " s=" << spatial;
  if (film()) out << " task_dim=" << task_dim << (task_layer ? " task_layer=" + std::to_string(task_layer) : "");
  return out.str();
}

}  // namespace tal
