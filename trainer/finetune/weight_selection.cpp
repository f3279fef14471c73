#include "trainer/finetune/weight_selection.h"

#include "base/error.h"
#include "hypernet/family.h"

namespace tal {

std::vector<int64_t> evenly_spaced(int64_t D, int64_t d) {
  TAL_ASSERT(d <= D && d >= 0, "evenly_spaced: ", d, " of ", D);
  std::vector<int64_t> out;
  for (int64_t i = 0; i < d; ++i) out.push_back(i * D / d);
  return out;
}

namespace {

at::Tensor select_along(const at::Tensor& t, int64_t dim, int64_t d) {
  if (t.size(dim) == d) return t;
  return t.index_select(dim, at::tensor(evenly_spaced(t.size(dim), d), at::kLong));
}

}  // namespace

ParamMap select_weights(const ArchSpec& large_spec, const ParamMap& large, const ArchSpec& small_spec,
                        const ParamMap& fallback, SelectionReport* report) {
  const Family& family = small_spec.family();
  TAL_REQUIRE(large_spec.family().name() == family.name(), "weight selection: a ", large_spec.family().name(),
              " model cannot initialise a ", family.name(), " model");
  const bool same_classes = !large_spec.has("classes") || !small_spec.has("classes") ||
                            large_spec.at("classes") == small_spec.at("classes");
  SelectionReport local;
  SelectionReport& rep = report ? *report : local;
  ParamMap out;
  for (const auto& info : param_table(small_spec)) {
    const auto& name = info.name;
    const auto& mine = param_at(small_spec, fallback, name);
    auto keep = [&](const std::string& why) {
      out[name] = mine.detach().clone();
      rep.kept.push_back(name + " (" + why + ")");
    };
    const auto it = large.find(name);
    if (it == large.end()) {
      keep("not in the larger model");
      continue;
    }
    if (family.is_classifier(name) && !same_classes) {
      keep("classifier of other classes");
      continue;
    }
    const at::Tensor& big = it->second;
    if (big.dim() != mine.dim()) {
      keep("rank differs");
      continue;
    }
    bool fits = true;
    for (int64_t k = 0; k < mine.dim(); ++k) fits = fits && big.size(k) >= mine.size(k);
    if (!fits) {
      keep("smaller in the larger model");
      continue;
    }
    at::Tensor t = big.detach();
    for (int64_t k = 0; k < mine.dim(); ++k)
      t = select_along(t, k, mine.size(k));
    out[name] = t.to(mine.scalar_type()).contiguous().clone();
    ++rep.selected;
  }
  return out;
}

}  // namespace tal
