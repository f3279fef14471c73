#include "hypernet/weight_selection.h"

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
  return t.index_select(dim, at::tensor(evenly_spaced(t.size(dim), d), at::kLong).to(t.device()));
}

}  // namespace

at::Tensor select_tensor(const ArchSpec& large_spec, const ParamMap& large, const ArchSpec& small_spec,
                         const ParamInfo& info, std::string* why) {
  const Family& family = small_spec.family();
  TAL_REQUIRE(large_spec.family().name() == family.name(), "weight selection: a ", large_spec.family().name(),
              " model cannot initialise a ", family.name(), " model");
  auto none = [&](const char* reason) {
    if (why) *why = reason;
    return at::Tensor();
  };
  const auto it = large.find(info.name);
  if (it == large.end()) return none("not in the larger model");
  const bool same_classes = !large_spec.has("classes") || !small_spec.has("classes") ||
                            large_spec.at("classes") == small_spec.at("classes");
  if (family.is_classifier(info.name) && !same_classes) return none("classifier of other classes");
  const at::Tensor& big = it->second;
  if (big.dim() != static_cast<int64_t>(info.shape.size())) return none("rank differs");
  for (size_t k = 0; k < info.shape.size(); ++k)
    if (big.size(static_cast<int64_t>(k)) < info.shape[k]) return none("smaller in the larger model");
  at::Tensor t = big.detach();
  for (size_t k = 0; k < info.shape.size(); ++k) t = select_along(t, static_cast<int64_t>(k), info.shape[k]);
  return t.contiguous().clone();
}

ParamMap select_weights(const ArchSpec& large_spec, const ParamMap& large, const ArchSpec& small_spec,
                        const ParamMap& fallback, SelectionReport* report) {
  SelectionReport local;
  SelectionReport& rep = report ? *report : local;
  ParamMap out;
  for (const auto& info : param_table(small_spec)) {
    const auto& mine = param_at(small_spec, fallback, info.name);
    std::string why;
    const at::Tensor t = select_tensor(large_spec, large, small_spec, info, &why);
    if (!t.defined()) {
      out[info.name] = mine.detach().clone();
      rep.kept.push_back(info.name + " (" + why + ")");
      continue;
    }
    out[info.name] = t.to(mine.scalar_type());
    ++rep.selected;
  }
  return out;
}

}  // namespace tal
