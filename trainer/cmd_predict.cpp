// tal predict: predicted weights for tasks x architectures into an HDF5 archive.
// tal eval: the test accuracy of archived models as predicted. tal inspect: what any TAL file holds.
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>

#include "datasets/atomic_file.h"
#include "datasets/h5.h"
#include "hypernet/error.h"
#include "hypernet/hypernet.h"
#include "hypernet/suggest.h"
#include "trainer/ancestry.h"
#include "trainer/archive.h"
#include "trainer/checkpoint.h"
#include "trainer/command_line.h"
#include "trainer/commands.h"
#include "trainer/format.h"
#include "trainer/options.h"
#include "trainer/task_embeddings.h"

namespace tal {
namespace {

using Clock = std::chrono::steady_clock;

struct PredictCmdOptions : TalOptions {
  std::string checkpoint_path;
  std::string task;
  std::string out;
  std::string zoo_file;
  int64_t n = 0;
  bool no_ema = false;
};

// Pulls every "--arch SPEC" out of the arguments (the flag repeats; the option table keeps the last value).
std::vector<std::string> take_repeated(Args& args, const std::string& flag) {
  std::vector<std::string> values;
  Args rest;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == flag) {
      TAL_REQUIRE(i + 1 < args.size(), "command line: ", flag, " needs a value");
      values.push_back(args[++i]);
    } else if (args[i].rfind(flag + "=", 0) == 0) {
      values.push_back(args[i].substr(flag.size() + 1));
    } else {
      rest.push_back(args[i]);
    }
  }
  args = rest;
  return values;
}

TaskDef find_task(const TalOptions& o, const std::string& name) {
  const auto suite = load_task_suite(o.tasks.suite);
  std::vector<std::string> names;
  for (const auto& d : suite) {
    if (d.name == name) return d;
    names.push_back(d.name);
  }
  const auto near = nearest_name(name, names);
  throw Error(o.tasks.suite + ": no task '" + name + "'" + (near.empty() ? "" : " (did you mean '" + near + "'?)"));
}

// A spec for this task: omitted keys come from the task (image, channels, classes) and the family defaults.
ArchSpec spec_for_task(const std::string& text, const Task& task) {
  ArchSpec base = ArchSpec::defaults(Family::Vit);
  const auto shape = task.image_shape();
  base.channels = shape[0];
  base.image = shape[1];
  base.patch = base.image <= 64 ? 4 : 16;
  base.classes = task.num_classes();
  const auto spec = ArchSpec::parse(text, base);
  TAL_REQUIRE(spec.channels == base.channels && spec.image == base.image && spec.classes == base.classes, "spec '",
              text, "' does not fit task '", task.def().name, "' (", base.channels, " channels, ", base.image, "x",
              base.image, " images, ", base.classes, " classes)");
  return spec;
}

int predict(const Args& args_in) {
  Args args = args_in;
  const auto archs = take_repeated(args, "--arch");
  using O = PredictCmdOptions;
  OptionTable<O> t;
  add_tal_options(t);
  t.add(opt<O>("checkpoint_path", [](auto& o) -> auto& { return o.checkpoint_path; }, "checkpoint file or run directory")
            .alias("--checkpoint"));
  t.add(opt<O>("task", [](auto& o) -> auto& { return o.task; }, "task name (from the checkpoint's suite)").alias("--task"));
  t.add(opt<O>("out", [](auto& o) -> auto& { return o.out; }, "archive to write or extend").alias("--out"));
  t.add(opt<O>("zoo_file", [](auto& o) -> auto& { return o.zoo_file; }, "zoo file from tal zoo sample").alias("--zoo"));
  t.add(opt<O>("n", [](auto& o) -> auto& { return o.n; }, "how many zoo architectures").alias("--n").range(0));
  t.add(opt<O>("no_ema", [](auto& o) -> auto& { return o.no_ema; }, "use raw weights even if EMA weights exist")
            .alias("--no-ema"));
  const auto cl = parse_command_line(t, args);
  if (cl.help)
    return print_help("tal predict --checkpoint RUN_OR_FILE --task NAME --arch SPEC [--arch SPEC ...] "
                      "[--zoo zoo.h5 --n K] --out A.h5 [key=value ...]",
                      t.help());
  TAL_REQUIRE(cl.positionals.empty(), "command line: unexpected argument '", cl.positionals.at(0), "'");
  O first{};
  t.apply(first, cl.overrides);
  TAL_REQUIRE(!first.checkpoint_path.empty(), "command line: --checkpoint RUN_OR_FILE is required");
  TAL_REQUIRE(!first.task.empty(), "command line: --task NAME is required");
  TAL_REQUIRE(!first.out.empty(), "command line: --out FILE.h5 is required");
  TAL_REQUIRE(!archs.empty() || !first.zoo_file.empty(), "command line: give --arch SPEC (repeatable) or --zoo FILE");
  const std::string path = std::filesystem::is_directory(first.checkpoint_path) ? latest_checkpoint(first.checkpoint_path)
                                                                            : first.checkpoint_path;
  TAL_REQUIRE(!path.empty(), first.checkpoint_path, ": no checkpoint in this run directory");
  const Checkpoint ckpt = read_checkpoint(path);
  // The run's resolved configuration, then the command line on top.
  O o{};
  t.apply(o, read_yaml_text(ckpt.config_yaml, path + " (stored config)"));
  t.apply(o, cl.overrides);
  o.validate("command line");
  if (o.threads > 0) at::set_num_threads(static_cast<int>(o.threads));

  Hypernet net(o.hypernet);
  check_compatible(path, ckpt, net.named_parameters());
  const bool ema = !ckpt.ema.empty() && !o.no_ema;
  const auto& weights = ema ? ckpt.ema : ckpt.hypernet;
  net.load([&](const std::string& name) {
    for (const auto& [n, w] : weights)
      if (n == name) return w;
    return at::Tensor();
  });
  ParamMap for_hash;
  for (const auto& [n, w] : weights) for_hash[n] = w;
  const std::string hash = params_hash(for_hash);

  const TaskDef def = find_task(o, o.task);
  const auto tasks = resolve_tasks({def}, o.data.root);
  const Task& task = tasks[0];
  at::Tensor embedding;
  if (o.hypernet.film()) embedding = load_task_embeddings(o.tasks.embeddings, tasks, "").at(def.name);

  std::vector<ArchSpec> specs;
  for (const auto& a : archs) specs.push_back(spec_for_task(a, task));
  if (!o.zoo_file.empty()) {
    H5File zoo(o.zoo_file, H5File::Mode::Read);
    TAL_REQUIRE(zoo.has_attr("/", "kind") && zoo.attr_str("/", "kind") == "tal-zoo", o.zoo_file,
                ": not a zoo file (make one with tal zoo sample --out)");
    const auto texts = zoo.read_strings("/specs");
    const auto k = o.n > 0 ? std::min<size_t>(static_cast<size_t>(o.n), texts.size()) : texts.size();
    for (size_t i = 0; i < k; ++i) {
      auto s = ArchSpec::parse(texts[i]);
      const auto shape = task.image_shape();
      s.channels = shape[0];
      s.image = shape[1];
      s.classes = task.num_classes();
      s.validate();
      specs.push_back(s);
    }
  }
  at::NoGradGuard no_grad;
  std::vector<ArchiveModel> models;
  double total_ms = 0;
  for (const auto& spec : specs) {
    const auto t0 = Clock::now();
    const Graph g = build_graph(spec);
    ArchiveModel m;
    m.params = net.predict({&g}, embedding)[0];
    total_ms += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    m.task = def.name;
    m.arch_id = spec.id();
    m.spec = spec;
    m.task_def = def;
    m.classes = task.class_names();
    m.checkpoint_step = ckpt.state.step;
    m.checkpoint_hash = hash;
    m.hypernet_variant = o.hypernet.variant;
    models.push_back(std::move(m));
  }
  const auto parent = std::filesystem::path(o.out).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  append_to_archive(o.out, models);
  for (const auto& m : models)
    std::printf("predict  %s / %s  (%s parameters)\n", m.task.c_str(), m.arch_id.c_str(),
                with_commas(count_params(m.spec, true)).c_str());
  std::printf("predict  %zu model(s) from %s (step %lld, %s weights) in %.1f ms per architecture -> %s\n",
              models.size(), path.c_str(), static_cast<long long>(ckpt.state.step), ema ? "EMA" : "raw",
              total_ms / static_cast<double>(std::max<size_t>(1, models.size())), o.out.c_str());
  return 0;
}

struct EvalCmdOptions : TalOptions {
  std::string archive;
  std::string task;
  std::string arch_id;
  std::string logits_out;
  int64_t probe_images = 8;
};

int eval(const Args& args) {
  using O = EvalCmdOptions;
  OptionTable<O> t;
  add_tal_options(t);
  t.add(opt<O>("archive", [](auto& o) -> auto& { return o.archive; }, "predicted-weight archive").alias("--archive"));
  t.add(opt<O>("task", [](auto& o) -> auto& { return o.task; }, "task in the archive").alias("--task"));
  t.add(opt<O>("arch_id", [](auto& o) -> auto& { return o.arch_id; }, "one model (default: all)").alias("--arch-id"));
  t.add(opt<O>("logits_out", [](auto& o) -> auto& { return o.logits_out; },
               "also write the first test images and each model's logits here (for checks in PyTorch)")
            .alias("--logits-out"));
  const auto parsed = command_options(t, args, "tal eval --archive A.h5 --task NAME [--arch-id ID] [data.root=DIR]");
  if (!parsed) return 0;
  const auto& o = *parsed;
  TAL_REQUIRE(!o.archive.empty() && !o.task.empty(), "command line: --archive FILE and --task NAME are required");
  if (o.threads > 0) at::set_num_threads(static_cast<int>(o.threads));
  const auto ids = o.arch_id.empty() ? archive_models(o.archive, o.task) : std::vector<std::string>{o.arch_id};
  at::NoGradGuard no_grad;
  std::unique_ptr<H5File> logits_file;
  if (!o.logits_out.empty()) logits_file = std::make_unique<H5File>(o.logits_out, H5File::Mode::Truncate);
  for (const auto& id : ids) {
    const auto m = read_archive_model(o.archive, o.task, id);
    const auto tasks = resolve_tasks({m.task_def}, o.data.root);
    const Task& task = tasks[0];
    const int64_t n = task.size(Split::Test);
    int64_t correct = 0;
    for (int64_t start = 0; start < n; start += 1000) {
      std::vector<int64_t> pos;
      for (int64_t i = start; i < std::min(n, start + 1000); ++i) pos.push_back(i);
      const auto b = task.load(Split::Test, pos);
      correct += vit_forward(m.spec, m.params, b.images).argmax(1).eq(b.labels).sum().item<int64_t>();
    }
    std::printf("eval  %s / %s  test accuracy %.2f%% (%s images, as predicted, step %lld, %s)\n", o.task.c_str(),
                id.c_str(), 100.0 * static_cast<double>(correct) / static_cast<double>(n), with_commas(n).c_str(),
                static_cast<long long>(m.checkpoint_step), m.hypernet_variant.c_str());
    if (logits_file) {
      std::vector<int64_t> pos;
      for (int64_t i = 0; i < std::min(o.probe_images, n); ++i) pos.push_back(i);
      const auto b = task.load(Split::Test, pos);
      logits_file->write("/" + id + "/images", b.images);
      logits_file->write("/" + id + "/logits", vit_forward(m.spec, m.params, b.images));
      logits_file->set_attr("/" + id, "spec", m.spec.str());
    }
  }
  return 0;
}

int inspect(const Args& args) {
  TAL_REQUIRE(args.size() == 1 && args[0] != "--help", "usage: tal inspect FILE.h5");
  const std::string path = args[0];
  H5File f(path, H5File::Mode::Read);
  const std::string kind = f.has_attr("/", "kind") ? f.attr_str("/", "kind") : "(not written by TAL)";
  std::printf("%s: %s", path.c_str(), kind.c_str());
  if (f.has_attr("/", "format_version")) std::printf(", format version %lld", static_cast<long long>(f.attr_int("/", "format_version")));
  std::printf("\n");
  int printed = 0, hidden = 0;
  auto attrs = [&](const std::string& object, const std::string& indent) {
    for (const auto& a : f.attr_names(object)) {
      if (object == "/" && (a == "kind" || a == "format_version")) continue;
      std::string v = f.attr_text(object, a);
      for (auto& c : v)
        if (c == '\n') c = '|';
      if (v.size() > 100) v = v.substr(0, 97) + "...";
      std::printf("%s@%s = %s\n", indent.c_str(), a.c_str(), v.c_str());
    }
  };
  attrs("/", "  ");
  std::function<void(const std::string&, int)> walk = [&](const std::string& group, int depth) {
    for (const auto& c : f.children(group)) {
      const std::string p = (group == "/" ? "" : group) + "/" + c;
      const std::string indent(static_cast<size_t>(2 * depth + 2), ' ');
      if (f.is_dataset(p)) {
        if (printed++ >= 400) {
          ++hidden;
          continue;
        }
        std::printf("%s%-58s %-8s %s\n", indent.c_str(), c.c_str(), f.dtype_name(p).c_str(), shape_str(f.shape(p)).c_str());
      } else {
        std::printf("%s%s/\n", indent.c_str(), c.c_str());
        attrs(p, indent + "  ");
        walk(p, depth + 1);
      }
    }
  };
  walk("/", 0);
  if (hidden) std::printf("  ... and %d more datasets\n", hidden);
  return 0;
}

}  // namespace

int run_predict(const Args& args) { return predict(args); }
int run_eval(const Args& args) { return eval(args); }
int run_inspect(const Args& args) { return inspect(args); }

}  // namespace tal
