#include "trainer/files/metrics_log.h"

#include <nlohmann/json.hpp>

#include <fstream>

#include "base/error.h"

namespace tal {

std::map<std::string, std::vector<LossPoint>> read_metrics_losses(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TAL_REQUIRE(in, path, ": cannot open");
  std::map<std::string, std::vector<LossPoint>> out;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    TAL_REQUIRE(j.is_object(), path, ":", n, ": not a JSON object line");
    const auto stage = j.find("stage"), step = j.find("step"), loss = j.find("loss");
    if (stage == j.end() || step == j.end() || loss == j.end()) continue;
    if (!stage->is_string() || !step->is_number() || !loss->is_number()) continue;
    out[stage->get<std::string>()].push_back({step->get<double>(), loss->get<double>()});
  }
  return out;
}

}  // namespace tal
