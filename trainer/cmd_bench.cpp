// tal bench predict: how long a hypernetwork takes to predict every parameter of one architecture.
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "hypernet/error.h"
#include "hypernet/hypernet.h"
#include "trainer/command_line.h"
#include "trainer/commands.h"
#include "trainer/format.h"
#include "trainer/options.h"
#include "trainer/resources.h"

namespace tal {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

struct PredictBenchOptions : TalOptions {
  std::string arch = "vit:depth=12,width=192,heads=3,patch=16,image=224,channels=3,classes=1000";
  int64_t repeats = 20;
  PredictBenchOptions() { threads = 1; }
  void validate(const std::string& origin) const {
    TalOptions::validate(origin);
    ArchSpec::parse(arch);
  }
};

int bench_predict(const Args& args) {
  OptionTable<PredictBenchOptions> table;
  add_tal_options(table);
  table.add(opt<PredictBenchOptions>("arch", [](auto& o) -> auto& { return o.arch; }, "architecture spec").alias("--arch"));
  table.add(opt<PredictBenchOptions>("repeats", [](auto& o) -> auto& { return o.repeats; }, "timed repeats")
                .alias("--repeats")
                .range(1));
  const auto cl = parse_command_line(table, args);
  if (cl.help) return print_help("tal bench predict --config FILE --arch SPEC [--repeats N] [--threads T]", table.help());
  const auto o = resolve_options(table, cl);
  if (cl.dump_config) {
    std::cout << table.dump(o);
    return 0;
  }
  if (o.threads > 0) at::set_num_threads(static_cast<int>(o.threads));
  const ArchSpec spec = ArchSpec::parse(o.arch);

  const int64_t rss0 = current_rss_bytes();
  auto t0 = Clock::now();
  Hypernet net(o.hypernet);
  const double construct_ms = ms_since(t0);
  const int64_t rss_net = current_rss_bytes() - rss0;

  std::vector<double> graph_ms;
  for (int i = 0; i < 200; ++i) {
    t0 = Clock::now();
    const Graph g = build_graph(spec);
    graph_ms.push_back(ms_since(t0));
  }
  const Graph graph = build_graph(spec);
  const at::Tensor task = o.hypernet.film() ? at::randn({o.hypernet.task_dim}) : at::Tensor();
  at::NoGradGuard no_grad;
  reset_peak_rss();
  for (int i = 0; i < 3; ++i) net.predict({&graph}, task);  // warm-up
  std::vector<double> predict_ms;
  int64_t predicted = 0;
  for (int64_t i = 0; i < o.repeats; ++i) {
    t0 = Clock::now();
    const auto p = net.predict({&graph}, task);
    predict_ms.push_back(ms_since(t0));
    predicted = 0;
    for (const auto& [name, t] : p[0]) predicted += t.numel();
  }
  std::vector<double> encode_ms;
  const GraphBatch batch = batch_graphs({&graph});
  for (int64_t i = 0; i < o.repeats; ++i) {
    t0 = Clock::now();
    net.encode(batch, task);
    encode_ms.push_back(ms_since(t0));
  }
  std::printf("bench predict  %s, %d thread(s)\n", o.hypernet.describe().c_str(), at::get_num_threads());
  std::printf("  arch                  %s (%lld nodes, %s predicted parameters)\n", spec.str().c_str(),
              static_cast<long long>(graph.size()), with_commas(predicted).c_str());
  std::printf("  hypernet construction %8.1f ms   %s parameters, resident +%s (%.2f bytes/parameter)\n", construct_ms,
              with_commas(net.num_parameters()).c_str(), mib(rss_net).c_str(),
              static_cast<double>(rss_net) / static_cast<double>(net.num_parameters()));
  std::printf("  graph build           %8.3f ms   median of %zu\n", median(graph_ms), graph_ms.size());
  std::printf("  predict (no grad)     %8.1f ms   median of %zu (min %.1f, max %.1f)\n", median(predict_ms),
              predict_ms.size(), *std::min_element(predict_ms.begin(), predict_ms.end()),
              *std::max_element(predict_ms.begin(), predict_ms.end()));
  std::printf("    of which encoder    %8.1f ms   median; the rest is decoding, tiling and scaling\n", median(encode_ms));
  std::printf("  peak resident memory  %s\n", mib(peak_rss_bytes()).c_str());
  return 0;
}

}  // namespace

int run_bench(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage: tal bench predict --config FILE --arch SPEC   time to predict one architecture\n";
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "predict") return bench_predict(Args(args.begin() + 1, args.end()));
  TAL_REQUIRE(false, "command line: unknown 'tal bench ", args[0], "' (expected predict)");
  return 2;
}

}  // namespace tal
