#include "trainer/files/zoo_file.h"

#include "base/error.h"
#include "datasets/atomic_file.h"
#include "datasets/h5.h"
#include "datasets/h5_check.h"
#include "hypernet/graph.h"
#include "trainer/files/file_kind.h"

namespace tal {
namespace {
constexpr int64_t kZooFormat = 1;
}

void write_zoo_file(const std::string& path, const ZooFile& zoo) {
  std::vector<std::string> texts;
  const auto n = static_cast<int64_t>(zoo.specs.size());
  auto params = at::empty({n}, at::kLong);
  auto nodes = at::empty({n}, at::kLong);
  for (int64_t i = 0; i < n; ++i) {
    const auto& s = zoo.specs[static_cast<size_t>(i)];
    texts.push_back(s.str());
    params[i] = count_params(s, true);
    nodes[i] = build_graph(s).size();
  }
  write_atomically(path, [&](const std::string& tmp) {
    H5File f(tmp, H5File::Mode::Truncate);
    stamp_kind(f, "tal-zoo", kZooFormat);
    f.set_attr("/", "family", zoo.family);
    f.set_attr("/", "rules", zoo.rules);
    f.set_attr("/", "profile", zoo.profile);
    f.set_attr("/", "seed", zoo.seed);
    f.write_strings("/specs", texts);
    f.write("/predicted_params", params);
    f.write("/nodes", nodes);
  });
}

ZooFile read_zoo_file(const std::string& path) {
  rehearse_in_child(path, "zoo", [&] { (void)read_zoo_file(path); });  // a file that crashes HDF5 crashes a child
  H5File f(path, H5File::Mode::Read);
  require_kind(f, "tal-zoo", kZooFormat, "zoo file", "make one with tal zoo sample --out");
  ZooFile z;
  z.family = f.attr_str("/", "family");
  z.rules = f.attr_str("/", "rules");
  z.profile = f.attr_str("/", "profile");
  z.seed = f.attr_int("/", "seed");
  f.require("/specs", {"string"}, 1);
  for (const auto& text : f.read_strings("/specs")) {
    try {
      z.specs.push_back(ArchSpec::parse(text));
    } catch (const Error& e) {
      throw Error(path + ": /specs: " + e.what());
    }
  }
  return z;
}

}  // namespace tal
