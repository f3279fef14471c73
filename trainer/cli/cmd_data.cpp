// tal data import fashion-mnist|folder|cifar|table|text-folder|fortunes|spam-assassin ... --out FILE.h5 ;
// tal data info FILE.h5 ; tal data tokenize TEXT...
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "base/error.h"
#include "base/suggest.h"
#include "datasets/atomic_file.h"
#include "datasets/bpe_tokenizer.h"
#include "datasets/importers.h"
#include "datasets/text_importers.h"
#include "datasets/text_store.h"
#include "datasets/task_store.h"
#include "trainer/cli/commands.h"
#include "trainer/cli/dispatch.h"
#include "trainer/config/command_line.h"
#include "trainer/config/commands.h"
#include "trainer/train/format.h"

namespace tal {
namespace {

void print_text_summary(const std::string& path) {
  const TextStore store(path);
  const auto& m = store.meta();
  std::printf("%s: text store '%s' (%s)\n", path.c_str(), m.name.c_str(), m.source.c_str());
  std::printf("  tokens    GPT-2 BPE ids (%s, %lld ids), padded to %lld\n", m.tokenizer.c_str(),
              static_cast<long long>(m.vocab_size), static_cast<long long>(store.max_length()));
  for (Split s : {Split::Train, Split::Test}) {
    const auto& d = store.split(s);
    const auto counts = at::bincount(d.labels, {}, static_cast<int64_t>(m.classes.size()));
    const auto truncated = (d.lengths == static_cast<int32_t>(store.max_length())).sum().item<int64_t>();
    std::printf("  %-5s     %s texts, per class %lld..%lld, mean length %.1f tokens, %lld at the limit\n",
                split_name(s), with_commas(store.size(s)).c_str(), static_cast<long long>(counts.min().item<int64_t>()),
                static_cast<long long>(counts.max().item<int64_t>()), d.lengths.to(at::kDouble).mean().item<double>(),
                static_cast<long long>(truncated));
  }
  std::printf("  classes   %zu:", m.classes.size());
  for (size_t i = 0; i < m.classes.size() && i < 12; ++i) std::printf(" %s%s", m.classes[i].c_str(), i + 1 < m.classes.size() ? "," : "");
  std::printf("%s\n", m.classes.size() > 12 ? " ..." : "");
}

void print_summary(const std::string& path) {
  if (is_text_store(path)) return print_text_summary(path);
  const TaskStore store(path);
  const auto& m = store.meta();
  const auto shape = store.image_shape();
  std::printf("%s: task store '%s' (%s)\n", path.c_str(), m.name.c_str(), m.source.c_str());
  std::printf("  images    %lld x %lld x %lld (C x H x W), uint8\n", static_cast<long long>(shape[0]),
              static_cast<long long>(shape[1]), static_cast<long long>(shape[2]));
  for (Split s : {Split::Train, Split::Test}) {
    const auto counts = at::bincount(store.labels(s), {}, static_cast<int64_t>(m.classes.size()));
    std::printf("  %-5s     %s images, per class %lld..%lld\n", split_name(s), with_commas(store.size(s)).c_str(),
                static_cast<long long>(counts.min().item<int64_t>()), static_cast<long long>(counts.max().item<int64_t>()));
  }
  std::printf("  classes   %zu:", m.classes.size());
  for (size_t i = 0; i < m.classes.size() && i < 12; ++i) std::printf(" %s%s", m.classes[i].c_str(), i + 1 < m.classes.size() ? "," : "");
  std::printf("%s\n  mean/std ", m.classes.size() > 12 ? " ..." : "");
  for (size_t c = 0; c < m.mean.size(); ++c) std::printf(" %.4f/%.4f", m.mean[c], m.std[c]);
  std::printf("\n");
}

const std::vector<std::string> kFormats = {"fashion-mnist", "folder", "cifar", "table", "text-folder", "fortunes",
                                           "spam-assassin"};
const std::vector<std::string> kTextFormats = {"table", "text-folder", "fortunes", "spam-assassin"};

int import_text(const std::string& format, const CommandLine& cl, const ImportOptions& o) {
  const auto& p = cl.positionals;
  if (format == "fortunes" || format == "spam-assassin")
    TAL_REQUIRE(p.size() <= 1, "command line: tal data import ", format, " takes at most one DIR");
  else
    TAL_REQUIRE(p.size() == 1, "command line: tal data import ", format, " takes one ", format == "table" ? "FILE" : "DIR");
  // Every input is checked before anything is tokenized or written.
  const BpeTokenizer tokenizer(o.tokenizer.empty() ? default_tokenizer_dir() : o.tokenizer);
  ImportedText d;
  if (format == "table") {
    std::vector<std::pair<std::string, std::string>> inputs = {{"the table", p[0]}};
    if (!o.test.empty()) inputs.emplace_back("the --test table", o.test);
    require_distinct_output("--out", o.out, inputs);
    d = import_text_table(p[0], {o.text_column, o.label_column, o.header}, o.test, o.test_every);
  } else if (format == "text-folder") {
    d = import_text_folder(p[0], o.test_every);
  } else if (format == "fortunes") {
    d = import_fortunes(p.empty() ? "/usr/share/games/fortunes" : p[0], o.test_every);
  } else {
    d = import_spam_assassin(p.empty() ? "data/spam-assassin" : p[0], o.test_every);
  }
  std::printf("tokenizing %s train + %s test texts (GPT-2 BPE, at most %lld tokens each)\n",
              with_commas(static_cast<int64_t>(d.train.size())).c_str(),
              with_commas(static_cast<int64_t>(d.test.size())).c_str(), static_cast<long long>(o.max_tokens));
  std::fflush(stdout);
  const auto train = tokenize_split(tokenizer, d.train, o.max_tokens);
  const auto test = tokenize_split(tokenizer, d.test, o.max_tokens);
  write_text_store(o.out, {d.name, d.source, d.classes, tokenizer.identity(), tokenizer.vocab_size()}, train, test);
  print_summary(o.out);
  return 0;
}

int data_import(const Args& args) {
  TAL_REQUIRE(!args.empty(), "command line: tal data import needs a format: ", join_choices(kFormats));
  const std::string format = args[0];
  const auto t = command_table("data import");
  const auto cl = parse_command_line(t, Args(args.begin() + 1, args.end()));
  if (cl.help || format == "--help" || format == "-h")
    return print_help("tal data import fashion-mnist [--from DIR] --out X.h5 | folder DIR --size 32 --out X.h5 | "
                      "cifar DIR --out X.h5 | table FILE.csv|FILE.tsv --text-column C --label-column C [--test FILE] "
                      "--out X.h5 | text-folder DIR --out X.h5 | fortunes [DIR] --out X.h5 | spam-assassin [DIR] "
                      "--out X.h5",
                      t.help());
  TAL_REQUIRE(is_one_of(format, kFormats), "command line: unknown format '", format, "' (expected ",
              join_choices(kFormats), ")", did_you_mean(format, kFormats));
  const auto o = resolve_options(t, cl).data_import;
  TAL_REQUIRE(!o.out.empty(), "command line: --out FILE.h5 is required");
  if (is_one_of(format, kTextFormats)) return import_text(format, cl, o);
  if (format == "fashion-mnist")
    for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                          "t10k-labels-idx1-ubyte.gz"})
      require_distinct_output("--out", o.out, {{"an input", (std::filesystem::path(o.from) / f).string()}});
  ImportedDataset d;
  if (format == "fashion-mnist") {
    TAL_REQUIRE(cl.positionals.empty(), "command line: unexpected argument '", cl.positionals.at(0), "'");
    d = import_fashion_mnist(o.from);
  } else {
    TAL_REQUIRE(cl.positionals.size() == 1, "command line: tal data import ", format, " takes one DIR");
    d = format == "folder" ? import_image_folder(cl.positionals[0], o.size, o.test_every, o.skip_corrupt)
                           : import_cifar(cl.positionals[0]);
  }
  write_task_store(o.out, d.meta, d.train, d.test);
  print_summary(o.out);
  if (!d.skipped.empty()) {
    std::printf("  skipped   %zu corrupt image(s) (--skip-corrupt), the first: %s\n", d.skipped.size(),
                d.skipped.front().c_str());
  }
  return 0;
}

// Prints the ids of each argument, one line each; --tokenizer DIR picks the vocabulary. An argument that starts with
// '-' is an option (one not known is refused, not tokenized); texts that start with '-' go after "--".
int data_tokenize(const Args& args) {
  const std::string usage = "tal data tokenize [--tokenizer DIR] TEXT... [-- TEXT...]   GPT-2 BPE ids of each TEXT";
  std::string dir = default_tokenizer_dir();
  Args texts;
  bool options = true;
  for (size_t i = 0; i < args.size(); ++i) {
    if (options && args[i] == "--") {
      options = false;
    } else if (options && (args[i] == "--help" || args[i] == "-h")) {
      return print_help(usage + "\n  --tokenizer DIR   the directory of encoder.json and vocab.bpe (default: "
                                "TAL_TOKENIZER_DIR, else data/gpt2)", "");
    } else if (options && args[i] == "--tokenizer") {
      TAL_REQUIRE(i + 1 < args.size(), "command line: --tokenizer needs a DIR");
      dir = args[++i];
    } else {
      TAL_REQUIRE(!options || args[i].empty() || args[i][0] != '-', "command line: unknown option '",
                  args[i].substr(0, 64), "' for tal data tokenize (", usage, "; a text that starts with '-' goes after --)");
      texts.push_back(args[i]);
    }
  }
  TAL_REQUIRE(!texts.empty(), "command line: tal data tokenize takes one or more TEXT arguments");
  const BpeTokenizer tokenizer(dir);
  for (const auto& t : texts) {
    const auto ids = tokenizer.encode(t);
    for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? " " : "", ids[i]);
    std::printf("\n");
  }
  return 0;
}

}  // namespace

int run_data(const Args& args) {
  return dispatch("data", args,
                  {{"import", "tal data import fashion-mnist [--from DIR] | folder DIR --size 32 | cifar DIR | table "
                              "FILE --text-column C --label-column C | text-folder DIR | fortunes [DIR] | "
                              "spam-assassin [DIR]  --out X.h5",
                    data_import},
                   {"tokenize", "tal data tokenize TEXT...   GPT-2 BPE ids of each TEXT (--tokenizer DIR)",
                    data_tokenize},
                   {"info", "tal data info X.h5   summary of a task store", [](const Args& a) {
                      TAL_REQUIRE(a.size() == 1, "command line: tal data info takes one FILE.h5");
                      print_summary(a[0]);
                      return 0;
                    }}});
}

}  // namespace tal
