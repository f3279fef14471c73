// Reference initialisation of the target families, for ancestry training and the random-init baseline.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "hypernet/targets.h"

namespace tal {

ParamMap init_params(const ArchSpec& spec, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  ParamMap out;
  auto ends_with = [](const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  for (const auto& info : param_table(spec)) {
    const auto& n = info.name;
    auto t = at::zeros(info.shape, at::kFloat);
    const int64_t fan_out = info.shape[0];
    const int64_t fan_in = info.shape.size() > 1 ? info.numel() / fan_out : 1;
    if (spec.family == Family::Vit) {
      if (n == "conv_proj.weight") {
        t.normal_(0, std::sqrt(1.0 / fan_in), gen).clamp_(-2 * std::sqrt(1.0 / fan_in), 2 * std::sqrt(1.0 / fan_in));
      } else if (n == "encoder.pos_embedding") {
        t.normal_(0, 0.02, gen);
      } else if (ends_with(n, "in_proj_weight") || (ends_with(n, ".weight") && n.find(".mlp.") != std::string::npos)) {
        const double bound = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));  // xavier_uniform
        t.uniform_(-bound, bound, gen);
      } else if (ends_with(n, "out_proj.weight")) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));  // kaiming_uniform(a=sqrt(5))
        t.uniform_(-bound, bound, gen);
      } else if (n.find(".mlp.") != std::string::npos && ends_with(n, ".bias")) {
        t.normal_(0, 1e-6, gen);
      } else if (n.find("ln") != std::string::npos && ends_with(n, ".weight")) {
        t.fill_(1.0);
      }  // class_token, other biases and the zero-initialised head stay 0
    } else {
      if (n.find("ln_") != std::string::npos && ends_with(n, ".weight")) {
        t.fill_(1.0);
      } else if (ends_with(n, ".weight")) {
        // GPT-2 scales residual projections by 1/sqrt(2 * n_layer).
        const bool residual = ends_with(n, "c_proj.weight");
        t.normal_(0, residual ? 0.02 / std::sqrt(2.0 * spec.depth) : 0.02, gen);
      }
    }
    out.emplace(n, t);
  }
  return out;
}

}  // namespace tal
