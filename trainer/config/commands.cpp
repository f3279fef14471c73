#include "trainer/config/commands.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "base/error.h"
#include "trainer/config/shared_options.h"

namespace tal {
namespace {

using O = CommandOptions;

void add_resume(OptionTable<O>& t) {
  t.add(opt<O>("resume.from", [](auto& o) -> auto& { return o.resume.from; },
               "checkpoint file or run directory to resume from")
            .alias("--resume-from"));
  t.add(opt<O>("resume.disabled", [](auto& o) -> auto& { return o.resume.disabled; },
               "refuse to continue a checkpoint found in run.dir")
            .alias("--no-resume"));
}

void add_predict(OptionTable<O>& t) {
  t.add(opt<O>("predict.checkpoint", [](auto& o) -> auto& { return o.predict.checkpoint; },
               "checkpoint file or run directory")
            .alias("--checkpoint"));
  t.add(opt<O>("predict.task", [](auto& o) -> auto& { return o.predict.task; }, "task name (from the run's suite)")
            .alias("--task"));
  t.add(opt<O>("predict.out", [](auto& o) -> auto& { return o.predict.out; }, "archive to write or extend")
            .alias("--out"));
  t.add(opt<O>("predict.zoo", [](auto& o) -> auto& { return o.predict.zoo; }, "zoo file from tal zoo sample")
            .alias("--zoo"));
  t.add(opt<O>("predict.n", [](auto& o) -> auto& { return o.predict.n; }, "how many zoo architectures (0: all)")
            .alias("--n")
            .range(0));
  t.add(opt<O>("predict.no_ema", [](auto& o) -> auto& { return o.predict.no_ema; },
               "use raw weights even if EMA weights exist")
            .alias("--no-ema"));
}

void add_eval(OptionTable<O>& t) {
  t.add(opt<O>("eval.archive", [](auto& o) -> auto& { return o.eval.archive; }, "predicted-weight archive")
            .alias("--archive"));
  t.add(opt<O>("eval.task", [](auto& o) -> auto& { return o.eval.task; }, "task in the archive").alias("--task"));
  t.add(opt<O>("eval.arch_id", [](auto& o) -> auto& { return o.eval.arch_id; }, "one model (default: all)")
            .alias("--arch-id"));
  t.add(opt<O>("eval.logits_out", [](auto& o) -> auto& { return o.eval.logits_out; },
               "also write the first test images and each model's logits here (for checks in PyTorch)")
            .alias("--logits-out"));
  t.add(opt<O>("eval.probe_images", [](auto& o) -> auto& { return o.eval.probe_images; },
               "test examples written with --logits-out (the first ones; a checker recomputes the reported metrics "
               "when they are the whole split)")
            .alias("--probe-images")
            .range(1));
}

void add_finetune(OptionTable<O>& t) {
  t.add(opt<O>("finetune.tasks", [](auto& o) -> auto& { return o.finetune.tasks; },
               "tasks of tasks.suite to fine-tune on (empty: all; held-out tasks are reported apart)"));
  t.add(opt<O>("finetune.archs", [](auto& o) -> auto& { return o.finetune.archs; },
               "descendant architecture specs (keys the task fixes may be omitted)"));
  t.add(opt<O>("finetune.inits", [](auto& o) -> auto& { return o.finetune.inits; },
               "initialisations: tal, logah, ghn3, random, ancestry-select, tal-no-film, tal-inherit; INIT>TASK is INIT's "
               "descendant fine-tuned on another task of the grid first (a tuned host)"));
  t.add(opt<O>("finetune.tal", [](auto& o) -> auto& { return o.finetune.tal; }, "TAL checkpoint or run directory"));
  t.add(opt<O>("finetune.logah", [](auto& o) -> auto& { return o.finetune.logah; },
               "LoGAH checkpoint or run directory"));
  t.add(opt<O>("finetune.ghn3", [](auto& o) -> auto& { return o.finetune.ghn3; }, "GHN-3 checkpoint or run directory"));
  t.add(opt<O>("finetune.tal_inherit", [](auto& o) -> auto& { return o.finetune.tal_inherit; },
               "checkpoint or run directory of an inheriting TAL hypernetwork (hypernet.base=ancestry)"));
  t.add(opt<O>("finetune.seeds", [](auto& o) -> auto& { return o.finetune.seeds; }, "seeds per cell").range(1, 1000));
  t.add(opt<O>("finetune.steps", [](auto& o) -> auto& { return o.finetune.steps; }, "fine-tuning steps per run")
            .range(1));
  t.add(opt<O>("finetune.batch", [](auto& o) -> auto& { return o.finetune.batch; }, "images per step").range(1));
  t.add(opt<O>("finetune.lr", [](auto& o) -> auto& { return o.finetune.lr; },
               "peak AdamW learning rates, a grid axis: each initialisation is reported at the rate its validation "
               "score chose"));
  t.add(opt<O>("finetune.val_fraction", [](auto& o) -> auto& { return o.finetune.val_fraction; },
               "fraction of each task's training split held back as its validation slice (seeded, fixed, never "
               "trained on); every choice is made on it")
            .range(0, 0.5));
  t.add(opt<O>("finetune.heads", [](auto& o) -> auto& { return o.finetune.heads; },
               "the head on a label space an initialisation was not trained on: reset (the family's fresh head, the "
               "same tensor for every initialisation) and/or predicted (kept); a grid axis"));
  t.add(opt<O>("finetune.methods", [](auto& o) -> auto& { return o.finetune.methods; },
               "how each descendant is adapted, a grid axis, each named with its budget like a spec (full, lora:r=4, "
               "...; the README's \"Transfer methods\" lists them, and an unknown name is answered with the list)"));
  t.add(opt<O>("finetune.port_from", [](auto& o) -> auto& { return o.finetune.port_from; },
               "origins init/task (e.g. tal/fmnist-footwear) of ported modules: every lora and adapter run also runs "
               "with its modules trained first on the origin's host (ported) and drawn from their per-tensor moments "
               "(sampled)"));
  t.add(opt<O>("finetune.tuned_lr", [](auto& o) -> auto& { return o.finetune.tuned_lr; },
               "peak learning rate of a tuned host's own full fine-tuning (finetune.inits INIT>TASK); 0: the run's own "
               "rate")
            .range(0, 10));
  t.add(opt<O>("finetune.noise_beta", [](auto& o) -> auto& { return o.finetune.noise_beta; },
               "symmetry-breaking noise on predicted tensors, beta x std(corrcoef(W)) x N(0,1) as ppuda's init "
               "(classifier skipped); 0: off")
            .range(0, 1));
  t.add(opt<O>("finetune.tiled_embeddings", [](auto& o) -> auto& { return o.finetune.tiled_embeddings; },
               "a predicted embedding table longer than the hypernetwork's decoded block (GPT-2's wte, which would "
               "repeat every hypernet.max_shape rows): ancestry (weight-selected from the ancestry), fresh (the "
               "family's initialisation) or predicted (kept, periodic)")
            .choices({"ancestry", "fresh", "predicted"}));
  t.add(opt<O>("finetune.weight_decay", [](auto& o) -> auto& { return o.finetune.weight_decay; },
               "AdamW weight decay")
            .range(0, 10));
  t.add(opt<O>("finetune.warmup", [](auto& o) -> auto& { return o.finetune.warmup; }, "linear warm-up steps")
            .range(0));
  t.add(opt<O>("finetune.label_smoothing", [](auto& o) -> auto& { return o.finetune.label_smoothing; },
               "label smoothing of the cross-entropy")
            .range(0, 1));
  t.add(opt<O>("finetune.clip", [](auto& o) -> auto& { return o.finetune.clip; }, "gradient-norm clip (0: off)").range(0));
  t.add(opt<O>("finetune.eval_every", [](auto& o) -> auto& { return o.finetune.eval_every; },
               "test accuracy every N steps (and at step 0)")
            .range(1));
  t.add(opt<O>("finetune.eval_images", [](auto& o) -> auto& { return o.finetune.eval_images; },
               "test images of an interim evaluation (0: all; the final one uses all)")
            .range(0));
  t.add(opt<O>("finetune.save_weights", [](auto& o) -> auto& { return o.finetune.save_weights; },
               "also write every fine-tuned model to this archive")
            .alias("--save-weights"));
}

void add_sample(OptionTable<O>& t) {
  t.add(opt<O>("sample.n", [](auto& o) -> auto& { return o.sample.n; }, "number of architectures")
            .alias("--n")
            .range(1));
  t.add(opt<O>("sample.out", [](auto& o) -> auto& { return o.sample.out; }, "write the zoo to this HDF5 file")
            .alias("--out"));
}

void add_import(OptionTable<O>& t) {
  t.add(opt<O>("import.out", [](auto& o) -> auto& { return o.data_import.out; }, "task store to write")
            .alias("--out"));
  t.add(opt<O>("import.from", [](auto& o) -> auto& { return o.data_import.from; }, "Fashion-MNIST IDX directory")
            .alias("--from"));
  t.add(opt<O>("import.size", [](auto& o) -> auto& { return o.data_import.size; }, "folder: resize to SIZE x SIZE")
            .alias("--size")
            .range(1, 4096));
  t.add(opt<O>("import.test_every", [](auto& o) -> auto& { return o.data_import.test_every; },
               "folder without test/: every N-th image of a class is a test image")
            .alias("--test-every")
            .range(2, 1000000));
  t.add(opt<O>("import.skip_corrupt", [](auto& o) -> auto& { return o.data_import.skip_corrupt; },
               "folder: leave corrupt images out and count them, instead of failing on the first")
            .alias("--skip-corrupt"));
  t.add(opt<O>("import.text_column", [](auto& o) -> auto& { return o.data_import.text_column; },
               "table: text column(s), by name or 0-based index; several are joined by a newline")
            .alias("--text-column"));
  t.add(opt<O>("import.label_column", [](auto& o) -> auto& { return o.data_import.label_column; },
               "table: label column, by name or 0-based index")
            .alias("--label-column"));
  t.add(opt<O>("import.test", [](auto& o) -> auto& { return o.data_import.test; },
               "table: a separate test table (else every test_every-th row)")
            .alias("--test"));
  t.add(opt<O>("import.header", [](auto& o) -> auto& { return o.data_import.header; },
               "table: the first row names the columns")
            .alias("--header"));
  t.add(opt<O>("import.max_tokens", [](auto& o) -> auto& { return o.data_import.max_tokens; },
               "texts: truncate to this many GPT-2 BPE tokens")
            .alias("--max-tokens")
            .range(1, 1024));
  t.add(opt<O>("import.tokenizer", [](auto& o) -> auto& { return o.data_import.tokenizer; },
               "texts: directory with encoder.json and vocab.bpe (default $TAL_TOKENIZER_DIR, else data/gpt2)")
            .alias("--tokenizer"));
}

void add_bench_step(OptionTable<O>& t) {
  t.add(opt<O>("bench.steps", [](auto& o) -> auto& { return o.bench.steps; }, "timed steps").alias("--steps").range(1));
  t.add(opt<O>("bench.warmup", [](auto& o) -> auto& { return o.bench.warmup; }, "untimed steps first")
            .alias("--warmup")
            .range(0));
  t.add(opt<O>("bench.synthetic", [](auto& o) -> auto& { return o.bench.synthetic; },
               "random images of zoo.image/zoo.channels (or random tokens) instead of the configured data: stage 2 "
               "on one synthetic task")
            .alias("--synthetic"));
}

void add_bench_repeats(OptionTable<O>& t) {
  t.add(opt<O>("bench.repeats", [](auto& o) -> auto& { return o.bench.repeats; }, "timed repeats")
            .alias("--repeats")
            .range(1));
}

OptionTable<O> shared() {
  OptionTable<O> t;
  add_tal_options(t);
  return t;
}

OptionTable<CommandOptions> build_table(const std::string& command);

// The sections each command reads. A config file may hold any key of the table (one file serves every command);
// a flag or override must be read by the command. The pipeline commands read the whole pipeline's sections, so
// one list of overrides serves them all, as one config file does; the others read only what they use.
const std::vector<std::string>& sections_read(const std::string& command) {
  static const std::vector<std::string> pipeline = {"run",   "data",       "zoo",  "hypernet", "tasks",   "ancestry",
                                                    "train", "checkpoint", "dist", "debug",    "threads", "device"};
  auto with = [](std::vector<std::string> base, std::initializer_list<const char*> own) {
    for (const char* s : own) base.emplace_back(s);
    return base;
  };
  static const std::vector<std::pair<std::string, std::vector<std::string>>> table = {
      {"train", with(pipeline, {"resume"})},
      {"predict", with(pipeline, {"predict"})},
      {"eval", with(pipeline, {"eval"})},
      {"ancestry train", pipeline},
      {"ancestry import", pipeline},
      {"tasks embed", pipeline},
      {"bench step", with(pipeline, {"bench"})},
      {"bench plan", {"run", "zoo", "hypernet", "train", "bench"}},
      {"zoo sample", {"run", "zoo", "sample"}},
      {"zoo show", {}},
      {"hypernet info", {"run", "hypernet"}},
      {"bench predict", {"run", "hypernet", "bench", "threads", "device"}},
      {"bench allreduce", {"run", "hypernet", "dist", "bench"}},
      {"bench loader", {"data", "train", "bench", "threads"}},
      {"data import", {"import"}},
      {"finetune", with(pipeline, {"finetune"})}};
  for (const auto& [name, sections] : table)
    if (name == command) return sections;
  TAL_ASSERT(false, "no sections listed for command '", command, "'");
  return table.front().second;
}

}  // namespace

const std::vector<std::string>& command_names() {
  static const std::vector<std::string> names = {
      "train",         "predict",     "eval",        "ancestry train", "ancestry import", "tasks embed",     "zoo sample",  "zoo show",
      "hypernet info", "bench predict", "bench step", "bench plan", "bench allreduce", "bench loader", "data import",
      "finetune"};
  return names;
}

OptionTable<CommandOptions> command_table(const std::string& command) {
  auto t = build_table(command);
  const auto& used = sections_read(command);
  t.set_used(command, used.empty() ? std::vector<std::string>{"-"} : used);  // "-": no section at all
  return t;
}

namespace {

OptionTable<CommandOptions> build_table(const std::string& command) {
  if (command == "data import") {
    OptionTable<O> t;
    add_import(t);
    return t;
  }
  OptionTable<O> t = shared();
  if (command == "train") {
    t.alias("train.steps", "--steps");
    add_resume(t);
  } else if (command == "predict") {
    add_predict(t);
  } else if (command == "eval") {
    add_eval(t);
  } else if (command == "finetune") {
    add_finetune(t);
  } else if (command == "ancestry import") {
    t.alias("ancestry.arch", "--arch");
    t.alias("ancestry.checkpoint", "--out");
    t.alias("ancestry.classes", "--classes");
    t.alias("ancestry.dataset", "--dataset");
  } else if (command == "zoo sample") {
    add_sample(t);
  } else if (command == "bench predict") {
    t.add(opt<O>("bench.arch", [](auto& o) -> auto& { return o.bench.arch; }, "architecture spec").alias("--arch"));
    add_bench_repeats(t);
    O defaults;
    defaults.threads = 1;
    t.set_defaults(defaults);
  } else if (command == "bench step") {
    add_bench_step(t);
  } else if (command == "bench plan") {
    t.add(opt<O>("bench.ranks", [](auto& o) -> auto& { return o.bench.ranks; }, "world sizes to plan for (1,8,64)")
              .alias("--ranks"));
    t.add(opt<O>("bench.steps", [](auto& o) -> auto& { return o.bench.steps; }, "steps to plan").alias("--steps").range(1, 100000));
    O defaults;
    defaults.bench.steps = 20;
    t.set_defaults(defaults);
  } else if (command == "bench allreduce") {
    add_bench_repeats(t);
    t.add(opt<O>("bench.elements", [](auto& o) -> auto& { return o.bench.elements; },
                 "buffer size (0: the hypernet's gradient buffer)")
              .alias("--elements")
              .range(0));
  } else if (command == "bench loader") {
    t.add(opt<O>("bench.batches", [](auto& o) -> auto& { return o.bench.batches; }, "batches to load")
              .alias("--batches")
              .range(1));
  } else {
    TAL_ASSERT(command == "ancestry train" || command == "tasks embed" || command == "zoo show" ||
                   command == "hypernet info",
               "no option table for command '", command, "'");
  }
  return t;
}

}  // namespace

std::vector<double> FinetuneOptions::learning_rates() const {
  TAL_REQUIRE(!lr.empty(), "key 'finetune.lr': give at least one learning rate");
  std::vector<double> out;
  for (const auto& text : lr) {
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(text.c_str(), &end);
    TAL_REQUIRE(!text.empty() && *end == '\0' && errno == 0 && std::isfinite(v) && v >= 0 && v <= 10,
                "key 'finetune.lr': '", text.substr(0, 64), "' is not a learning rate in [0, 10]");
    TAL_REQUIRE(std::find(out.begin(), out.end(), v) == out.end(), "key 'finetune.lr': ", text, " is named twice");
    out.push_back(v);
  }
  return out;
}

void CommandOptions::validate(const std::string& origin) const {
  TalOptions::validate(origin);
  try {
    finetune.learning_rates();
  } catch (const Error& e) {
    throw Error(origin + ": " + e.what());
  }
  TAL_REQUIRE(!finetune.heads.empty(), origin, ": key 'finetune.heads': give reset, predicted or both");
  for (size_t i = 0; i < finetune.heads.size(); ++i) {
    const auto& h = finetune.heads[i];
    TAL_REQUIRE(h == "reset" || h == "predicted", origin, ": key 'finetune.heads': '", h.substr(0, 64),
                "' is not one of: reset, predicted");
    TAL_REQUIRE(std::find(finetune.heads.begin(), finetune.heads.begin() + static_cast<int64_t>(i), h) ==
                    finetune.heads.begin() + static_cast<int64_t>(i),
                origin, ": key 'finetune.heads': ", h, " is named twice");
  }
  TAL_REQUIRE(finetune.lr.size() == 1 || finetune.val_fraction > 0, origin, ": key 'finetune.val_fraction': 0 leaves "
              "nothing to choose among ", finetune.lr.size(), " learning rates with; give a fraction > 0 or one rate");
  TAL_REQUIRE(resume.from.empty() || !resume.disabled, origin,
              ": --resume-from (resume.from) and --no-resume (resume.disabled) contradict each other");
}

OptionTable<TalOptions> run_config_table() {
  OptionTable<TalOptions> t;
  add_tal_options(t);
  return t;
}

}  // namespace tal
