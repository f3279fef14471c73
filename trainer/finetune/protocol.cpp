#include "trainer/finetune/protocol.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include "base/error.h"
#include "datasets/tasks.h"

namespace tal {
namespace {

constexpr uint64_t kValidationStream = 0x76616c;  // "val"

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

TrainValSplit validation_split(int64_t n, double fraction, uint64_t seed) {
  TAL_REQUIRE(n >= 0 && fraction >= 0 && fraction < 1, "validation_split: ", fraction, " of ", n);
  const auto n_val = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
  const auto order = epoch_order(n, seed, kValidationStream, 0);
  TrainValSplit out;
  out.val.assign(order.begin(), order.begin() + n_val);
  out.train.assign(order.begin() + n_val, order.end());
  std::sort(out.val.begin(), out.val.end());
  std::sort(out.train.begin(), out.train.end());
  return out;
}

double correlation_std(const at::Tensor& w, int64_t max_rows) {
  at::NoGradGuard no_grad;
  auto m = w.detach().to(at::kCPU, at::kDouble).reshape({w.size(0), -1});
  if (m.size(0) < m.size(1)) m = m.t();
  if (m.size(0) > max_rows) {
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < max_rows; ++i) rows.push_back(i * m.size(0) / max_rows);
    m = m.index_select(0, at::tensor(rows, at::kLong));
  }
  auto centred = m - m.mean(1, true);
  const auto norms = centred.norm(2, 1);
  const auto usable = norms.gt(1e-12);
  if (usable.sum().item<int64_t>() < 2) return 0;
  centred = centred.index({usable}) / norms.index({usable}).unsqueeze(1);
  const auto corr = at::matmul(centred, centred.t());
  return corr.flatten().std().item<double>();
}

void break_symmetry(const std::vector<ParamInfo>& order, ParamMap& params, double beta, uint64_t seed,
                    const std::function<bool(const std::string&)>& skip) {
  if (beta <= 0) return;
  at::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  double last_std = 0;
  auto add_noise = [&](at::Tensor& t, double std) {
    if (std <= 0) return;
    const auto noise = at::normal(0.0, beta * std, t.sizes(), gen, at::TensorOptions().dtype(at::kFloat));
    t = (t.detach() + noise.to(t.device(), t.scalar_type())).contiguous();
  };
  for (const auto& info : order) {
    const auto it = params.find(info.name);
    if (it == params.end() || skip(info.name)) continue;
    at::Tensor& t = it->second;
    if (t.dim() >= 2 && ends_with(info.name, "weight")) {
      last_std = correlation_std(t);
      add_noise(t, last_std);
    } else if (t.dim() == 1 && ends_with(info.name, ".weight")) {
      // A normalisation layer: its weight and its bias, with the statistics of the matrix before it.
      add_noise(t, last_std);
      const std::string bias = info.name.substr(0, info.name.size() - 6) + "bias";
      if (const auto b = params.find(bias); b != params.end() && !skip(bias)) add_noise(b->second, last_std);
    }
  }
}

BodyStats body_statistics(const std::vector<ParamInfo>& order, const ParamMap& params) {
  at::NoGradGuard no_grad;
  std::map<std::pair<std::string, std::vector<int64_t>>, std::vector<at::Tensor>> groups;
  for (const auto& info : order) {
    if (info.shape.size() < 2 || !ends_with(info.name, "weight")) continue;
    const auto it = params.find(info.name);
    if (it == params.end()) continue;
    std::string pattern;
    for (size_t i = 0; i < info.name.size(); ++i) {
      if (std::isdigit(static_cast<unsigned char>(info.name[i]))) {
        pattern += '#';
        while (i + 1 < info.name.size() && std::isdigit(static_cast<unsigned char>(info.name[i + 1]))) ++i;
      } else {
        pattern += info.name[i];
      }
    }
    groups[{pattern, info.shape}].push_back(it->second.detach().to(at::kCPU, at::kDouble));
  }
  double cos_sum = 0, rank_sum = 0, std_sum = 0;
  int64_t pairs = 0, tensors = 0;
  for (const auto& [key, ts] : groups) {
    if (ts.size() < 2) continue;
    for (size_t i = 0; i < ts.size(); ++i) {
      if (!at::isfinite(ts[i]).all().item<bool>()) return BodyStats();  // nothing to say of non-finite weights
      const auto m = ts[i].reshape({ts[i].size(0), -1});
      const double fro2 = m.pow(2).sum().item<double>();
      const double top = fro2 > 0 ? at::linalg_svdvals(m).max().item<double>() : 0;
      rank_sum += top > 0 ? fro2 / (top * top) : 0;
      std_sum += ts[i].std().item<double>();
      ++tensors;
      for (size_t j = i + 1; j < ts.size(); ++j) {
        const double den = ts[i].norm().item<double>() * ts[j].norm().item<double>();
        cos_sum += den > 0 ? std::abs((ts[i] * ts[j]).sum().item<double>()) / den : 1.0;
        ++pairs;
      }
    }
  }
  BodyStats out;
  if (tensors == 0) return out;
  out.cosine = cos_sum / static_cast<double>(pairs);
  out.stable_rank = rank_sum / static_cast<double>(tensors);
  out.std = std_sum / static_cast<double>(tensors);
  return out;
}

}  // namespace tal
