#include "trainer/files/ancestry_file.h"

#include <map>
#include <set>

#include "base/error.h"
#include "base/hash.h"
#include "datasets/atomic_file.h"
#include "datasets/h5.h"
#include "datasets/h5_check.h"
#include "trainer/files/file_kind.h"
#include "trainer/files/safetensors.h"

namespace tal {

namespace {
constexpr int64_t kAncestryFormat = 2, kOldestAncestryFormat = 1;
}

std::string params_hash(const ParamMap& params) {
  const std::map<std::string, at::Tensor> sorted(params.begin(), params.end());
  Fnv1a h;
  for (const auto& [name, t] : sorted) {
    h.add(name);
    const auto c = t.detach().to(at::kCPU, at::kFloat).contiguous();
    h.add(c.data_ptr(), static_cast<size_t>(c.numel()) * sizeof(float));
  }
  return h.hex();
}

void save_ancestry(const std::string& path, const AncestryModel& m, const std::string& dataset) {
  write_atomically(path, [&](const std::string& tmp) {
    H5File f(tmp, H5File::Mode::Truncate);
    stamp_kind(f, "tal-ancestry", kAncestryFormat);
    f.set_attr("/", "spec", m.spec.str());
    f.set_attr("/", "dataset", dataset);
    f.set_attr("/", "test_accuracy", m.test_accuracy);
    f.set_attr("/", "content_hash", params_hash(m.params));
    if (!m.classes.empty()) f.write_strings("/classes", m.classes);
    for (const auto& p : param_table(m.spec)) f.write("/params/" + p.name, m.params.at(p.name));
  });
}

AncestryModel load_ancestry(const std::string& path) {
  rehearse_in_child(path, "ancestry", [&] { (void)load_ancestry(path); });  // a file that crashes HDF5 crashes a child
  H5File f(path, H5File::Mode::Read);
  require_kind_versions(f, "tal-ancestry", kOldestAncestryFormat, kAncestryFormat, "ancestry model",
                        "tal ancestry train --config configs/ancestry_vit.yaml, or tal ancestry import");
  AncestryModel m;
  m.dataset = f.attr_str("/", "dataset");
  if (f.exists("/classes")) m.classes = f.read_strings("/classes");
  try {
    m.spec = ArchSpec::parse(f.attr_str("/", "spec"));
  } catch (const Error& e) {
    throw Error(path + ": attribute 'spec': " + e.what());
  }
  m.test_accuracy = f.attr_float("/", "test_accuracy");
  for (const auto& p : param_table(m.spec)) {
    TAL_REQUIRE(f.is_dataset("/params/" + p.name), path, ": missing /params/", p.name);
    f.require("/params/" + p.name, {"float32"});
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

AncestryModel import_ancestry(const std::string& path, const ArchSpec& spec, const std::vector<std::string>& classes) {
  const SafetensorsFile file = read_safetensors(path);
  AncestryModel m;
  m.spec = spec;
  std::set<std::string> expected;
  for (const auto& p : param_table(spec)) {
    expected.insert(p.name);
    const auto it = file.tensors.find(p.name);
    TAL_REQUIRE(it != file.tensors.end(), path, ": tensor '", p.name, "' missing (", spec.str(), " has it, of shape ",
                shape_str(p.shape), ")");
    const at::Tensor& t = it->second;
    TAL_REQUIRE(at::isFloatingType(t.scalar_type()), path, ": tensor '", p.name, "' is ", t.scalar_type(),
                ", not floating point");
    TAL_REQUIRE(t.sizes().vec() == p.shape, path, ": tensor '", p.name, "' has shape ", shape_str(t.sizes().vec()),
                ", but ", spec.str(), " needs ", shape_str(p.shape));
    m.params[p.name] = t.to(at::kFloat).contiguous().clone();
  }
  auto ends_with = [](const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  for (const auto& [name, t] : file.tensors)
    TAL_REQUIRE(expected.count(name) || ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias"), path,
                ": tensor '", name, "' is not a parameter of ", spec.str(), " (another architecture or layout?)");
  if (!classes.empty()) {
    TAL_REQUIRE(spec.has("classes") && spec.at("classes") == static_cast<int64_t>(classes.size()),
                "key 'ancestry.classes': ", classes.size(), " class names for ", spec.str());
    m.classes = classes;
  }
  m.content_hash = params_hash(m.params);
  return m;
}

}  // namespace tal
