#include "trainer/ancestry.h"

#include <map>

#include "datasets/atomic_file.h"
#include "datasets/h5.h"
#include "hypernet/error.h"

namespace tal {

std::string params_hash(const ParamMap& params) {
  const std::map<std::string, at::Tensor> sorted(params.begin(), params.end());
  uint64_t h = 1469598103934665603ull;
  for (const auto& [name, t] : sorted) {
    for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
    const auto c = t.detach().to(at::kFloat).contiguous();
    const auto* bytes = static_cast<const unsigned char*>(c.data_ptr());
    for (size_t i = 0; i < static_cast<size_t>(c.numel()) * sizeof(float); ++i) h = (h ^ bytes[i]) * 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

void save_ancestry(const std::string& path, const AncestryModel& m, const std::string& dataset) {
  write_atomically(path, [&](const std::string& tmp) {
    H5File f(tmp, H5File::Mode::Truncate);
    f.set_attr("/", "kind", "tal-ancestry");
    f.set_attr("/", "format_version", int64_t{1});
    f.set_attr("/", "spec", m.spec.str());
    f.set_attr("/", "dataset", dataset);
    f.set_attr("/", "test_accuracy", m.test_accuracy);
    f.set_attr("/", "content_hash", params_hash(m.params));
    for (const auto& p : param_table(m.spec)) f.write("/params/" + p.name, m.params.at(p.name));
  });
}

AncestryModel load_ancestry(const std::string& path) {
  H5File f(path, H5File::Mode::Read);
  TAL_REQUIRE(f.has_attr("/", "kind") && f.attr_str("/", "kind") == "tal-ancestry", path,
              ": not an ancestry model (HINT: tal ancestry train --config configs/ancestry_vit.yaml)");
  AncestryModel m;
  m.spec = ArchSpec::parse(f.attr_str("/", "spec"));
  m.test_accuracy = f.attr_float("/", "test_accuracy");
  for (const auto& p : param_table(m.spec)) {
    TAL_REQUIRE(f.is_dataset("/params/" + p.name), path, ": missing /params/", p.name);
    auto t = f.read("/params/" + p.name);
    TAL_REQUIRE(t.sizes().vec() == p.shape, path, ": /params/", p.name, " has shape ", shape_str(t.sizes().vec()),
                ", expected ", shape_str(p.shape));
    m.params[p.name] = t.to(at::kFloat);
  }
  m.content_hash = params_hash(m.params);
  TAL_REQUIRE(m.content_hash == f.attr_str("/", "content_hash"), path,
              ": parameters do not match the stored content hash (corrupt file?)");
  return m;
}

}  // namespace tal
