// tal bench predict: how long a hypernetwork takes to predict every parameter of one architecture.
#include <ATen/Parallel.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <cstdio>
#include <iostream>

#include "base/error.h"
#include "datasets/prefetch.h"
#include "datasets/tasks.h"
#include "dist/mpi_communicator.h"
#include "hypernet/hypernet.h"
#include "trainer/cli/bench.h"
#include "trainer/cli/commands.h"
#include "trainer/cli/dispatch.h"
#include "trainer/cli/runtime.h"
#include "trainer/config/command_line.h"
#include "trainer/config/commands.h"
#include "trainer/train/format.h"
#include "trainer/train/resources.h"
#include "trainer/train/run_device.h"
#include "trainer/train/trainer.h"

namespace tal {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

int bench_predict(const Args& args) {
  const auto parsed = command_options(command_table("bench predict"), args,
                                      "tal bench predict --config FILE --arch SPEC [--repeats N] [--threads T]");
  if (!parsed) return 0;
  const auto o = *parsed;
  if (o.threads > 0) at::set_num_threads(static_cast<int>(o.threads));
  const ArchSpec spec = ArchSpec::parse(o.bench.arch);

  const int64_t rss0 = current_rss_bytes();
  auto t0 = Clock::now();
  o.check_memory(false);
  Hypernet net(o.hypernet);
  const double construct_ms = ms_since(t0);
  const RunDevice device = run_device(o.device);
  net.to(device.device);
  const int64_t rss_net = current_rss_bytes() - rss0;

  std::vector<double> graph_ms;
  for (int i = 0; i < 200; ++i) {
    t0 = Clock::now();
    const Graph g = build_graph(spec);
    graph_ms.push_back(ms_since(t0));
  }
  const Graph graph = build_graph(spec);
  const at::Tensor task = o.hypernet.film() ? at::randn({o.hypernet.task_dim}).to(device.device) : at::Tensor();
  // On a GPU the work is asynchronous: reading one value back waits for all of it, so the clock times the work.
  auto wait = [](const ParamMap& p) {
    if (!p.empty()) p.begin()->second.sum().item<float>();
  };
  at::NoGradGuard no_grad;
  reset_peak_rss();
  for (int i = 0; i < 3; ++i) wait(net.predict({&graph}, task)[0]);  // warm-up
  std::vector<double> predict_ms;
  int64_t predicted = 0;
  for (int64_t i = 0; i < o.bench.repeats; ++i) {
    t0 = Clock::now();
    const auto p = net.predict({&graph}, task);
    wait(p[0]);
    predict_ms.push_back(ms_since(t0));
    predicted = 0;
    for (const auto& [name, t] : p[0]) predicted += t.numel();
  }
  std::vector<double> encode_ms;
  const GraphBatch batch = batch_graphs({&graph});
  for (int64_t i = 0; i < o.bench.repeats; ++i) {
    t0 = Clock::now();
    net.encode(batch, task).sum().item<float>();
    encode_ms.push_back(ms_since(t0));
  }
  std::printf("bench predict  %s, %d thread(s), on %s\n", o.hypernet.describe().c_str(), at::get_num_threads(),
              device.device.str().c_str());
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

// Images per second through the training loader (gather, transform, augment, normalise, batch), on the prefetch
// thread as training uses it, and how long the consumer waited when it had no work of its own.
int bench_loader(const Args& args) {
  const auto parsed = command_options(command_table("bench loader"), args, "tal bench loader --config FILE [--batches N]");
  if (!parsed) return 0;
  const auto o = *parsed;
  at::set_num_threads(1);
  TaskDef def;
  def.name = "bench";
  def.dataset = o.train.dataset;
  def.transform = o.train.transform;
  def.flip = true;
  def.crop_padding = 2;
  const auto tasks = resolve_tasks({def}, o.data.root, o.data.memory_limit);
  const Task& task = tasks[0];
  const int64_t b = o.train.batch, n = task.size(Split::Train);
  const auto order = epoch_order(n, 0, 1, 0);
  auto produce = [&](int64_t i) {
    std::vector<int64_t> pos;
    std::vector<uint64_t> aug;
    for (int64_t j = 0; j < b; ++j) {
      pos.push_back(order[static_cast<size_t>((i * b + j) % n)]);
      aug.push_back(static_cast<uint64_t>(i * b + j));
    }
    return task.load(Split::Train, pos, &aug);
  };
  const auto t0 = Clock::now();
  const int64_t batches = o.bench.batches;
  Prefetcher<Batch> loader(produce, batches);
  for (int64_t i = 0; i < batches; ++i) loader.get(i);
  const double secs = ms_since(t0) / 1000;
  std::printf("bench loader  %s, batches of %lld, random crop + flip + normalise, 1 thread\n", task.store_path().c_str(),
              static_cast<long long>(b));
  std::printf("  %8.0f images/s through the prefetching loader (%lld batches in %.2f s)\n",
              static_cast<double>(batches * b) / secs, static_cast<long long>(batches), secs);
  return 0;
}

// The framework's gradient all-reduce (signature check, arrival protocol, non-blocking wait) against a raw
// MPI_Allreduce of the same bytes. Bus bandwidth = 2 (n - 1) / n * bytes / time.
int bench_allreduce(const Args& args, Runtime& runtime) {
  const auto parsed = command_options(command_table("bench allreduce"), args,
                                      "mpirun -np N tal bench allreduce --config FILE [--repeats R]");
  if (!parsed) return 0;
  const auto o = *parsed;
  auto& comm = runtime.dist(o.dist).comm();
  auto* mpi = dynamic_cast<MpiCommunicator*>(&comm);
  TAL_REQUIRE(mpi && comm.world() > 1, "tal bench allreduce needs several MPI ranks (run it under mpirun -np N)");
  // The trainer reduces its gradients as one double buffer (see Trainer): same size here.
  const int64_t n = o.bench.elements > 0 ? o.bench.elements : o.hypernet.parameter_count() + 4;
  auto buf = at::randn({n}, at::kDouble);
  const double bytes = static_cast<double>(n) * 8;
  auto time = [&](const std::function<void()>& f) {
    for (int i = 0; i < 3; ++i) f();
    std::vector<double> ms;
    for (int64_t i = 0; i < o.bench.repeats; ++i) {
      comm.barrier("bench sync");
      const auto t0 = Clock::now();
      f();
      ms.push_back(ms_since(t0));
    }
    auto t = at::tensor({median(ms)}, at::kDouble);
    comm.allreduce_sum(t, "bench timing");
    return t.item<double>() / comm.world();
  };
  const double ours = time([&] { comm.allreduce_sum(buf, "bench allreduce"); });
  const double raw = time([&] { MPI_Allreduce(MPI_IN_PLACE, buf.data_ptr(), static_cast<int>(n), MPI_DOUBLE, MPI_SUM, mpi->comm()); });
  const double factor = 2.0 * (comm.world() - 1) / comm.world();
  if (comm.rank() == 0) {
    std::printf("bench allreduce  %d ranks, %s doubles (%s, the hypernet gradient buffer)\n", comm.world(),
                with_commas(n).c_str(), mib(static_cast<int64_t>(bytes)).c_str());
    std::printf("  framework allreduce   %8.2f ms   bus bandwidth %6.2f GB/s\n", ours, factor * bytes / ours / 1e6);
    std::printf("  raw MPI_Allreduce     %8.2f ms   bus bandwidth %6.2f GB/s\n", raw, factor * bytes / raw / 1e6);
    std::printf("  framework / raw       %8.1f %% of raw bandwidth\n", 100 * raw / ours);
  }
  return 0;
}

}  // namespace

int run_bench(const Args& args, Runtime& runtime) {
  return dispatch("bench", args,
                  {{"predict", "tal bench predict --config FILE --arch SPEC   time to predict one architecture", bench_predict},
                   {"step", "[mpirun -np N] tal bench step --config FILE   one training step, split into its parts",
                    [&](const Args& a) { return bench_step(a, runtime); }},
                   {"plan", "tal bench plan --ranks N[,N...] --config FILE   the work planner alone, for N ranks",
                    bench_plan},
                   {"allreduce", "mpirun -np N tal bench allreduce --config FILE   gradient all-reduce vs raw MPI",
                    [&](const Args& a) { return bench_allreduce(a, runtime); }},
                   {"loader", "tal bench loader --config FILE   images/s through the data loader", bench_loader}});
}

}  // namespace tal
