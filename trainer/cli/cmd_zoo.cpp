// tal zoo sample | show: draw architectures from the zoo rules and look at their graphs.
#include <cstdio>
#include <map>

#include "base/error.h"
#include "hypernet/family.h"
#include "hypernet/graph.h"
#include "trainer/cli/commands.h"
#include "trainer/cli/dispatch.h"
#include "trainer/config/command_line.h"
#include "trainer/config/commands.h"
#include "trainer/files/zoo_file.h"
#include "trainer/train/format.h"

namespace tal {
namespace {

int zoo_sample(const Args& args) {
  const auto parsed = command_options(
      command_table("zoo sample"), args,
      "tal zoo sample [--family vit|gpt2] [--rules R] [--profile P] [--n N] [--seed S] [--out zoo.h5]");
  if (!parsed) return 0;
  const auto& o = *parsed;
  const auto specs = sample_zoo(o.zoo.rules_for(o.zoo.data()), static_cast<uint64_t>(o.run.seed), o.sample.n);
  std::map<int64_t, int> depths;
  int64_t total = 0, smallest = INT64_MAX, largest = 0;
  for (const auto& s : specs) {
    const int64_t p = count_params(s, true);
    total += p;
    smallest = std::min(smallest, p);
    largest = std::max(largest, p);
    depths[s.at("depth")]++;
  }
  if (o.sample.out.empty()) {
    for (size_t i = 0; i < specs.size(); ++i)
      std::printf("%6zu  %-14s %s\n", i, with_commas(count_params(specs[i], true)).c_str(), specs[i].str().c_str());
  } else {
    write_zoo_file(o.sample.out, {o.zoo.family, o.zoo.rules, o.zoo.profile, o.run.seed, specs});
  }
  std::printf("zoo: %zu %s architectures (rules %s, profile %s, seed %lld); predicted params %s..%s, mean %s\n",
              specs.size(), o.zoo.family.c_str(), o.zoo.rules.c_str(), o.zoo.profile.c_str(),
              static_cast<long long>(o.run.seed), with_commas(smallest).c_str(), with_commas(largest).c_str(),
              with_commas(total / static_cast<int64_t>(specs.size())).c_str());
  std::printf("zoo: depth histogram:");
  for (auto [d, c] : depths) std::printf(" %lld:%d", static_cast<long long>(d), c);
  std::printf("\n");
  if (!o.sample.out.empty()) std::printf("zoo: wrote %s\n", o.sample.out.c_str());
  return 0;
}

int zoo_show(const Args& args) {
  const auto table = command_table("zoo show");
  const auto cl = parse_command_line(table, args);
  if (cl.help) return print_help("tal zoo show SPEC   e.g. tal zoo show \"vit:depth=6,width=192,heads=3\"", table.help());
  TAL_REQUIRE(cl.positionals.size() == 1, "command line: tal zoo show takes exactly one SPEC");
  const auto o = resolve_options(table, cl);  // reads --config and overrides like every command, and checks them
  if (cl.dump_config) {
    std::printf("%s", table.dump(o).c_str());
    return 0;
  }
  const ArchSpec spec = ArchSpec::parse(cl.positionals[0]);
  const Graph g = build_graph(spec);
  const auto d = g.distances;
  const int64_t real = static_cast<int64_t>(g.edges.size());
  const int64_t virt = (d > 1).sum().item<int64_t>();

  std::printf("spec         %s\n", spec.str().c_str());
  std::printf("id           %s\n", spec.id().c_str());
  int64_t with_params = 0;
  for (const auto& n : g.nodes) with_params += !n.param.empty();
  std::printf("nodes        %lld (%lld predict parameters)\n", static_cast<long long>(g.size()),
              static_cast<long long>(with_params));
  std::printf("edges        %lld real, %lld virtual (shortest paths 2..%d)\n", static_cast<long long>(real),
              static_cast<long long>(virt), kVirtualEdgeCutoff);
  std::printf("parameters   %s predicted\n", with_commas(count_params(spec, true)).c_str());
  for (const auto& p : param_table(spec))
    if (!is_predicted(spec, p.name))
      std::printf("             + %s %s not predicted (no graph node predicts it) = %s in %s\n", p.name.c_str(),
                  with_commas(p.numel()).c_str(), with_commas(count_params(spec, false)).c_str(),
                  spec.family().reference_layout().c_str());
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
