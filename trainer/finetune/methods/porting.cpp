#include "trainer/finetune/methods/porting.h"

#include <ATen/CPUGeneratorImpl.h>

#include <map>

#include "base/error.h"

namespace tal {

bool method_ports(const std::string& method) { return method_named(parse_method(method).name).ports(); }

void port_tensors(const std::vector<std::pair<std::string, at::Tensor>>& from,
                  const std::vector<std::pair<std::string, at::Tensor>>& to, const std::string& mode, uint64_t seed) {
  TAL_REQUIRE(mode == "ported" || mode == "sampled", "porting: unknown mode '", mode, "' (expected ported or sampled)");
  std::map<std::string, at::Tensor> source(from.begin(), from.end());
  for (const auto& [name, t] : to) {  // every check before any copy
    const auto it = source.find(name);
    TAL_REQUIRE(it != source.end(), "porting: the origin host has no tensor '", name, "'");
    TAL_REQUIRE(it->second.sizes() == t.sizes(), "porting: tensor '", name, "' is ", shape_str(it->second.sizes().vec()),
                " on the origin host and ", shape_str(t.sizes().vec()), " on the destination");
  }
  at::NoGradGuard guard;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed ^ 0x506f7274ULL);
  for (const auto& [name, t] : to) {
    const at::Tensor src = source.at(name).detach().to(at::kCPU);
    if (mode == "ported" || !src.is_floating_point()) {
      t.copy_(src);
      continue;
    }
    const auto moments = src.to(at::kDouble);
    const double m = moments.mean().item<double>(), sd = src.numel() > 1 ? moments.std().item<double>() : 0.0;
    auto draw = at::empty(src.sizes(), at::kFloat);
    if (sd > 0)
      draw.normal_(m, sd, gen);
    else
      draw.fill_(m);
    t.copy_(draw);
  }
}

void port_modules(const Adaptation& from, Adaptation& to, const std::string& mode, uint64_t seed) {
  port_tensors(from.modules(), to.modules(), mode, seed);
}

}  // namespace tal
