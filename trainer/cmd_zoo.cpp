// tal zoo sample | show: draw architectures from the zoo rules and look at their graphs.
#include <cstdio>
#include <iostream>
#include <map>

#include "datasets/atomic_file.h"
#include "datasets/h5.h"
#include "hypernet/error.h"
#include "hypernet/graph.h"
#include "trainer/command_line.h"
#include "trainer/commands.h"
#include "trainer/subcommands.h"
#include "trainer/format.h"
#include "trainer/options.h"

namespace tal {
namespace {

struct SampleOptions : TalOptions {
  int64_t n = 1000;
  std::string out;
};

OptionTable<SampleOptions> sample_table() {
  OptionTable<SampleOptions> t;
  add_tal_options(t);
  t.add(opt<SampleOptions>("n", [](auto& o) -> auto& { return o.n; }, "number of architectures").alias("--n").range(1));
  t.add(opt<SampleOptions>("out", [](auto& o) -> auto& { return o.out; }, "write the zoo to this HDF5 file")
            .alias("--out"));
  return t;
}

void write_zoo(const std::string& path, const SampleOptions& o, const std::vector<ArchSpec>& specs) {
  std::vector<std::string> texts;
  auto params = at::empty({static_cast<int64_t>(specs.size())}, at::kLong);
  auto nodes = at::empty({static_cast<int64_t>(specs.size())}, at::kLong);
  for (size_t i = 0; i < specs.size(); ++i) {
    texts.push_back(specs[i].str());
    params[static_cast<int64_t>(i)] = count_params(specs[i], true);
    nodes[static_cast<int64_t>(i)] = build_graph(specs[i]).size();
  }
  write_atomically(path, [&](const std::string& tmp) {
    H5File f(tmp, H5File::Mode::Truncate);
    f.set_attr("/", "kind", "tal-zoo");
    f.set_attr("/", "format_version", int64_t{1});
    f.set_attr("/", "family", o.zoo.family);
    f.set_attr("/", "rules", o.zoo.rules);
    f.set_attr("/", "profile", o.zoo.profile);
    f.set_attr("/", "seed", o.run.seed);
    f.write_strings("/specs", texts);
    f.write("/predicted_params", params);
    f.write("/nodes", nodes);
  });
}

int zoo_sample(const Args& args) {
  const auto table = sample_table();
  const auto parsed = command_options(
      table, args, "tal zoo sample [--family vit|gpt2] [--rules R] [--profile P] [--n N] [--seed S] [--out zoo.h5]");
  if (!parsed) return 0;
  const auto& o = *parsed;
  const auto specs = sample_zoo(o.zoo.rules_for_task(), static_cast<uint64_t>(o.run.seed), o.n);
  std::map<int64_t, int> depths;
  int64_t total = 0, smallest = INT64_MAX, largest = 0;
  for (const auto& s : specs) {
    const int64_t p = count_params(s, true);
    total += p;
    smallest = std::min(smallest, p);
    largest = std::max(largest, p);
    depths[s.depth]++;
  }
  if (o.out.empty()) {
    for (size_t i = 0; i < specs.size(); ++i)
      std::printf("%6zu  %-14s %s\n", i, with_commas(count_params(specs[i], true)).c_str(), specs[i].str().c_str());
  } else {
    write_zoo(o.out, o, specs);
  }
  std::printf("zoo: %zu %s architectures (rules %s, profile %s, seed %lld); predicted params %s..%s, mean %s\n",
              specs.size(), o.zoo.family.c_str(), o.zoo.rules.c_str(), o.zoo.profile.c_str(),
              static_cast<long long>(o.run.seed), with_commas(smallest).c_str(), with_commas(largest).c_str(),
              with_commas(total / static_cast<int64_t>(specs.size())).c_str());
  std::printf("zoo: depth histogram:");
  for (auto [d, c] : depths) std::printf(" %lld:%d", static_cast<long long>(d), c);
  std::printf("\n");
  if (!o.out.empty()) std::printf("zoo: wrote %s\n", o.out.c_str());
  return 0;
}

int zoo_show(const Args& args) {
  struct NoOptions {
    void validate(const std::string&) const {}
  };
  OptionTable<NoOptions> table;
  const auto cl = parse_command_line(table, args);
  if (cl.help) return print_help("tal zoo show SPEC   e.g. tal zoo show \"vit:depth=6,width=192,heads=3\"", "");
  TAL_REQUIRE(cl.positionals.size() == 1, "command line: tal zoo show takes exactly one SPEC");
  const ArchSpec spec = ArchSpec::parse(cl.positionals[0]);
  const Graph g = build_graph(spec);
  const auto d = g.distances;
  const int64_t real = static_cast<int64_t>(g.edges.size());
  const int64_t virt = (d > 1).sum().item<int64_t>();

  std::printf("spec         %s\n", spec.str().c_str());
  std::printf("id           %s\n", spec.id().c_str());
  std::printf("nodes        %lld (%s)\n", static_cast<long long>(g.size()),
              spec.family == Family::Vit ? "13*depth + 8" : "13*depth + 6");
  std::printf("edges        %lld real, %lld virtual (shortest paths 2..%d)\n", static_cast<long long>(real),
              static_cast<long long>(virt), kVirtualEdgeCutoff);
  std::printf("parameters   %s predicted\n", with_commas(count_params(spec, true)).c_str());
  if (spec.family == Family::Vit)
    std::printf("             + class_token %s not predicted (no graph node; stays torchvision's zeros) = %s in "
                "torchvision's VisionTransformer\n",
                with_commas(spec.width).c_str(), with_commas(count_params(spec, false)).c_str());
  std::printf("\nnode  op        shape                   parameter\n");
  for (int64_t i = 0; i < g.size(); ++i) {
    const auto& n = g.nodes[static_cast<size_t>(i)];
    char shape[64] = "-";
    if (n.shape[0] >= 0)
      std::snprintf(shape, sizeof shape, "(%lld,%lld,%lld,%lld)", static_cast<long long>(n.shape[0]),
                    static_cast<long long>(n.shape[1]), static_cast<long long>(n.shape[2]),
                    static_cast<long long>(n.shape[3]));
    std::string param = n.param;
    if (!n.param_bias.empty()) param += " + " + n.param_bias;
    std::printf("%4lld  %-9s %-23s %s\n", static_cast<long long>(i), op_name(n.op), shape, param.c_str());
  }
  std::printf("\ntensor                                                       shape              numel\n");
  for (const auto& p : param_table(spec))
    std::printf("%-60s %-18s %s%s\n", p.name.c_str(), shape_str(p.shape).c_str(), with_commas(p.numel()).c_str(),
                is_predicted(spec, p.name) ? "" : "  (not predicted)");
  return 0;
}

}  // namespace

int run_zoo(const Args& args) {
  return dispatch("zoo", args,
                  {{"sample", "tal zoo sample [--family vit|gpt2] [--rules R] [--n N] [--out zoo.h5]   draw architectures",
                    zoo_sample},
                   {"show", "tal zoo show SPEC   nodes, edges and parameters of one architecture", zoo_show}});
}

}  // namespace tal
