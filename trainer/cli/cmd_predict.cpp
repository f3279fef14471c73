// tal predict: predicted weights for tasks x architectures into an HDF5 archive.
// tal eval: the test accuracy of archived models as predicted. tal inspect: what any TAL file holds.
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>

#include "base/error.h"
#include "dist/device.h"
#include "base/suggest.h"
#include "datasets/atomic_file.h"
#include "datasets/h5.h"
#include "datasets/h5_check.h"
#include "hypernet/family.h"
#include "hypernet/hypernet.h"
#include "trainer/cli/commands.h"
#include "trainer/config/command_line.h"
#include "trainer/config/commands.h"
#include "trainer/files/ancestry_file.h"
#include "trainer/files/archive.h"
#include "trainer/files/checkpoint.h"
#include "trainer/files/task_embeddings_file.h"
#include "trainer/files/zoo_file.h"
#include "trainer/train/evaluator.h"
#include "trainer/train/format.h"
#include "trainer/train/progress.h"
#include "trainer/train/run_device.h"
#include "trainer/train/trained_hypernet.h"
#include "trainer/train/training_data.h"

namespace tal {
namespace {

using Clock = std::chrono::steady_clock;

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
  throw Error(o.tasks.suite + ": no task '" + name + "'" + did_you_mean(name, names));
}

int predict(const Args& args_in) {
  Args args = args_in;
  const auto archs = take_repeated(args, "--arch");
  const auto t = command_table("predict");
  const auto cl = parse_command_line(t, args);
  if (cl.help)
    return print_help("tal predict --checkpoint RUN_OR_FILE --task NAME --arch SPEC [--arch SPEC ...] "
                      "[--zoo zoo.h5 --n K] --out A.h5 [key=value ...]",
                      t.help());
  TAL_REQUIRE(cl.positionals.empty(), "command line: unexpected argument '", cl.positionals.at(0), "'");
  refuse_unused(cl.overrides, [&](const std::string& k) { return t.find(k) != nullptr; },
                [&](const std::string& k) { return t.uses(k); }, t.command(), t.used());
  CommandOptions first = t.defaults();
  t.apply(first, cl.overrides);
  const auto& p = first.predict;
  TAL_REQUIRE(!p.checkpoint.empty(), "command line: --checkpoint RUN_OR_FILE is required");
  TAL_REQUIRE(!p.task.empty(), "command line: --task NAME is required");
  TAL_REQUIRE(!p.out.empty(), "command line: --out FILE.h5 is required");
  TAL_REQUIRE(!archs.empty() || !p.zoo.empty(), "command line: give --arch SPEC (repeatable) or --zoo FILE");
  const std::string path = std::filesystem::is_directory(p.checkpoint) ? latest_checkpoint(p.checkpoint) : p.checkpoint;
  TAL_REQUIRE(!path.empty(), p.checkpoint, ": no checkpoint in this run directory");
  require_distinct_output("--out", p.out, {{"the --checkpoint", path}, {"the --zoo", p.zoo}});
  const Checkpoint ckpt = read_checkpoint(path);
  TAL_REQUIRE(ckpt.model == "hypernet", path, ": is a checkpoint of an ", ckpt.model, " run, not of a hypernetwork");
  // The run's resolved configuration, then the config file and command line on top.
  CommandOptions o = t.defaults();
  t.apply(o, read_yaml_text(ckpt.config_yaml, path + " (stored config)"));
  if (!cl.config_file.empty()) t.apply(o, read_yaml_settings(cl.config_file));
  t.apply(o, cl.overrides);
  o.validate("command line");
  if (o.threads > 0) at::set_num_threads(static_cast<int>(o.threads));

  o.check_memory(false);
  const RunDevice device = run_device(o.device);
  Hypernet net(o.hypernet);
  check_compatible(path, ckpt, net.named_parameters());
  const bool ema = !ckpt.ema.empty() && !o.predict.no_ema;
  const auto& weights = ema ? ckpt.ema : ckpt.weights;
  net.load([&](const std::string& name) {
    for (const auto& [n, w] : weights)
      if (n == name) return w;
    return at::Tensor();
  });
  net.to(device.device);
  attach_ancestry(net, o.zoo.family, o.ancestry.checkpoint, ckpt.base_hash, path);
  ParamMap for_hash;
  for (const auto& [n, w] : weights) for_hash[n] = w;
  const std::string hash = params_hash(for_hash);

  const TaskDef def = find_task(o, o.predict.task);
  const auto tasks = resolve_tasks({def}, o.data.root, o.data.memory_limit);
  const Task& task = tasks[0];
  require_distinct_output("--out", o.predict.out,
                          {{"the task store", task.store_path()}, {"the tasks.embeddings", o.tasks.embeddings}});
  at::Tensor embedding;
  if (o.hypernet.film()) embedding = load_task_embeddings(o.tasks.embeddings, tasks, "").at(def.name).to(device.device);

  std::vector<ArchSpec> specs;
  for (const auto& a : archs) specs.push_back(spec_for_task(a, task));
  if (!o.predict.zoo.empty()) {
    const ZooFile zoo = read_zoo_file(o.predict.zoo);
    const auto k = o.predict.n > 0 ? std::min<size_t>(static_cast<size_t>(o.predict.n), zoo.specs.size()) : zoo.specs.size();
    for (size_t i = 0; i < k; ++i) {
      ArchSpec s = zoo.specs[i];
      s.family().fit(s, data_shape(task));
      s.validate();
      specs.push_back(s);
    }
  }
  for (const auto& spec : specs) o.check_target_memory(spec);
  at::NoGradGuard no_grad;
  std::vector<ArchiveModel> models;
  double total_ms = 0;
  for (const auto& spec : specs) {
    const auto t0 = Clock::now();
    const Graph g = build_graph(spec);
    ArchiveModel m;
    m.params = net.predict({&g}, embedding)[0];
    synchronize(device.device.str());  // on a GPU the clock must time the work, not its launch
    total_ms += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    m.task = def.name;
    m.arch_id = spec.id();
    m.spec = spec;
    m.task_def = task.def();  // as resolved: a text task records its length
    m.classes = task.class_names();
    m.checkpoint_step = ckpt.state.step;
    m.checkpoint_hash = hash;
    m.hypernet_variant = o.hypernet.variant;
    models.push_back(std::move(m));
  }
  append_to_archive(o.predict.out, models);
  for (const auto& m : models)
    std::printf("predict  %s / %s  (%s parameters)\n", m.task.c_str(), m.arch_id.c_str(),
                with_commas(count_params(m.spec, true)).c_str());
  std::printf("predict  %zu model(s) from %s (step %lld, %s weights) in %.1f ms per architecture -> %s\n",
              models.size(), path.c_str(), static_cast<long long>(ckpt.state.step), ema ? "EMA" : "raw",
              total_ms / static_cast<double>(std::max<size_t>(1, models.size())), o.predict.out.c_str());
  return 0;
}

int eval(const Args& args) {
  const auto parsed = command_options(command_table("eval"), args,
                                      "tal eval --archive A.h5 --task NAME [--arch-id ID] [data.root=DIR]");
  if (!parsed) return 0;
  const auto& o = *parsed;
  const auto& e = o.eval;
  TAL_REQUIRE(!e.archive.empty() && !e.task.empty(), "command line: --archive FILE and --task NAME are required");
  if (o.threads > 0) at::set_num_threads(static_cast<int>(o.threads));
  const RunDevice device = run_device(o.device);
  const auto ids = e.arch_id.empty() ? archive_models(e.archive, e.task) : std::vector<std::string>{e.arch_id};
  require_distinct_output("--logits-out", e.logits_out, {{"the --archive", e.archive}});
  at::NoGradGuard no_grad;
  struct Probe {
    std::string id, spec;
    at::Tensor inputs, labels, logits;  // inputs: the images, or the token ids of a text task
    bool text;
    Evaluation scores;  // over the whole test split
    int64_t examples;   // in the test split
  };
  std::vector<Probe> probes;
  for (const auto& id : ids) {
    auto m = read_archive_model(e.archive, e.task, id);
    for (auto& [name, t] : m.params) t = t.to(device.device);
    const auto tasks = resolve_tasks({m.task_def}, o.data.root, o.data.memory_limit);
    const Task& task = tasks[0];
    const std::string misfit = m.spec.family().mismatch(m.spec, data_shape(task));
    TAL_REQUIRE(misfit.empty(), e.archive, ": model '", id, "' (", m.spec.str(), ") does not fit task '", e.task,
                "' as found under ", o.data.root, " (", misfit, ")");
    const int64_t n = task.size(Split::Test);
    const Evaluation r = evaluate(m.spec, m.params, task, Split::Test, first_positions(n));
    const std::string where = strf("as predicted, step %lld, %s", static_cast<long long>(m.checkpoint_step),
                                   m.hypernet_variant.c_str());
    if (r.language_model)
      std::printf("eval  %s / %s  test perplexity %.2f, next-token accuracy %.2f%% (%s tokens in %s sequences, %s)\n",
                  e.task.c_str(), id.c_str(), r.perplexity(), 100.0 * r.accuracy(),
                  with_commas(static_cast<int64_t>(r.count)).c_str(), with_commas(n).c_str(), where.c_str());
    else
      std::printf("eval  %s / %s  test accuracy %.2f%%%s (%s %s, %s)\n", e.task.c_str(), id.c_str(),
                  100.0 * r.accuracy(), r.has_mcc() ? strf(" MCC %.4f", r.mcc()).c_str() : "",
                  with_commas(n).c_str(), task.is_text() ? "texts" : "images", where.c_str());
    std::fflush(stdout);
    if (!e.logits_out.empty()) {
      // In the batches evaluate() used, so these are the very logits the figures above were counted from.
      const auto b = task.load(Split::Test, first_positions(std::min(e.probe_images, n)));
      const int64_t batch = evaluation_batch(m.spec, kEvaluationBatch);
      std::vector<at::Tensor> logits;
      for (int64_t start = 0; start < b.inputs.size(0); start += batch) {
        const auto x = b.inputs.narrow(0, start, std::min(batch, b.inputs.size(0) - start));
        logits.push_back(target_forward(m.spec, m.params, x.to(device.device)).to(at::kCPU));
      }
      probes.push_back({id, m.spec.str(), b.inputs, b.labels, at::cat(logits), task.is_text(), r, n});
    }
  }
  // Written only when every model was evaluated, and atomically: a failure leaves nothing behind.
  if (!e.logits_out.empty())
    write_atomically(e.logits_out, [&](const std::string& tmp) {
      H5File f(tmp, H5File::Mode::Truncate);
      for (const auto& p : probes) {
        f.write("/" + p.id + (p.text ? "/tokens" : "/images"), p.inputs);
        f.write("/" + p.id + "/logits", p.logits);
        if (!p.scores.language_model) f.write("/" + p.id + "/labels", p.labels);
        f.set_attr("/" + p.id, "spec", p.spec);
        // What tal eval reported, so a checker that recomputes it from the logits of the whole split can compare.
        f.set_attr("/" + p.id, "test_examples", p.examples);
        f.set_attr("/" + p.id, "test_accuracy", p.scores.accuracy());
        if (p.scores.language_model) f.set_attr("/" + p.id, "test_perplexity", p.scores.perplexity());
        if (p.scores.has_mcc()) f.set_attr("/" + p.id, "test_mcc", p.scores.mcc());
      }
    });
  return 0;
}

int inspect(const Args& args) {
  TAL_REQUIRE(args.size() == 1 && args[0] != "--help", "usage: tal inspect FILE.h5");
  const std::string path = args[0];
  rehearse_in_child(path, "inspect", [&] { inspect(args); });  // a file that crashes HDF5 crashes a child
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
