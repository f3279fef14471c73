#include "trainer/config/options.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "base/error.h"
#include "hypernet/arch_spec.h"
#include "hypernet/family.h"

namespace tal {
namespace {

std::string strf_gib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1 << 30));
  return buf;
}

}  // namespace

const std::vector<std::string>& train_stage_names() {
  static const std::vector<std::string> names = {"pretrain", "multitask", "both"};
  return names;
}

void ZooOptions::validate(const std::string& origin) const {
  const Family& sampled = family_of_rules(rules);
  TAL_REQUIRE(sampled.name() == family, origin, ": key 'zoo.rules': rules '", rules, "' sample family '",
              sampled.name(), "', not zoo.family '", family, "'");
}

DataShape ZooOptions::data() const {
  DataShape d;
  d.channels = channels;
  d.height = d.width = image;
  d.classes = classes > 0 ? classes : find_family(family).taskless_classes();
  d.vocab = vocab;
  d.length = context;
  return d;
}

ZooRules ZooOptions::rules_for(const DataShape& data) const {
  ZooRules r;
  r.rules = rules;
  r.profile = profile;
  r.data = data;
  r.max_width = max_width;
  return r;
}

namespace {

std::set<std::pair<int64_t, int64_t>> rank_steps(const std::string& key, const std::string& text) {
  std::set<std::pair<int64_t, int64_t>> out;
  size_t start = 0;
  while (start < text.size()) {
    const auto end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    const auto colon = item.find(':');
    char* e1 = nullptr;
    char* e2 = nullptr;
    const long long rank = colon == std::string::npos ? -1 : std::strtoll(item.c_str(), &e1, 10);
    const long long step = colon == std::string::npos ? -1 : std::strtoll(item.c_str() + colon + 1, &e2, 10);
    TAL_REQUIRE(colon != std::string::npos && e1 == item.c_str() + colon && *e2 == '\0' && rank >= 0 && step >= 1,
                "key '", key, "': expected 'rank:step,...' (steps from 1), got '", text, "'");
    out.emplace(rank, step);
    start = end + 1;
  }
  return out;
}

}  // namespace

std::set<std::pair<int64_t, int64_t>> DebugOptions::nan_step_set() const { return rank_steps("debug.nan_steps", nan_steps); }
std::set<std::pair<int64_t, int64_t>> DebugOptions::oom_step_set() const { return rank_steps("debug.oom_steps", oom_steps); }

int64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : int64_t{1} << 40;
}

int64_t hypernet_memory_estimate(const HypernetConfig& config, bool training) {
  const int64_t n = config.parameter_count();
  const int64_t per = training ? 36 : 8;
  TAL_REQUIRE(n <= INT64_MAX / per, "hypernet memory estimate overflows 64-bit arithmetic");
  return n * per;
}

void TalOptions::check_memory(bool training) const {
  const int64_t limit = run.memory_limit > 0 ? run.memory_limit : physical_memory_bytes();
  const int64_t need = hypernet_memory_estimate(hypernet, training);
  auto gib = [](int64_t b) { return strf_gib(b); };
  TAL_REQUIRE(need <= limit, "hypernet.variant=", hypernet.variant, ", hypernet.hidden=", hypernet.hidden,
              ", hypernet.max_shape=", hypernet.max_shape, ": ", hypernet.parameter_count(), " parameters need about ",
              gib(need), " to ", training ? "train" : "predict with", ", above run.memory_limit ", gib(limit),
              run.memory_limit > 0 ? "" : " (this machine's memory)",
              " (HINT: lower hypernet.max_shape, hypernet.hidden or hypernet.rank)");
}

void TalOptions::check_target_memory(const ArchSpec& spec) const {
  const int64_t limit = run.memory_limit > 0 ? run.memory_limit : physical_memory_bytes();
  const int64_t n = count_params(spec, true);
  const int64_t need = n > INT64_MAX / 12 ? INT64_MAX : n * 12;
  TAL_REQUIRE(need <= limit, "spec '", spec.str(), "': ", n, " parameters need about ", strf_gib(need),
              " to predict, above run.memory_limit ", strf_gib(limit),
              run.memory_limit > 0 ? "" : " (this machine's memory)");
}

void TalOptions::validate(const std::string& origin) const {
  zoo.validate(origin);
  hypernet.validate(origin);
  debug.nan_step_set();
  debug.oom_step_set();
  try {
    ArchSpec::parse(ancestry.arch);
  } catch (const Error& e) {
    throw Error(origin + ": key 'ancestry.arch': " + e.what());
  }
}

}  // namespace tal
