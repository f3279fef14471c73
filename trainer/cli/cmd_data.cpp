// tal data import fashion-mnist|folder|cifar ... --out FILE.h5 ; tal data info FILE.h5
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "base/error.h"
#include "base/suggest.h"
#include "datasets/atomic_file.h"
#include "datasets/importers.h"
#include "datasets/task_store.h"
#include "trainer/cli/commands.h"
#include "trainer/cli/dispatch.h"
#include "trainer/config/command_line.h"
#include "trainer/config/commands.h"
#include "trainer/train/format.h"

namespace tal {
namespace {

void print_summary(const std::string& path) {
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

const std::vector<std::string> kFormats = {"fashion-mnist", "folder", "cifar"};

int data_import(const Args& args) {
  TAL_REQUIRE(!args.empty(), "command line: tal data import needs a format: ", join_choices(kFormats));
  const std::string format = args[0];
  const auto t = command_table("data import");
  const auto cl = parse_command_line(t, Args(args.begin() + 1, args.end()));
  if (cl.help || format == "--help" || format == "-h")
    return print_help("tal data import fashion-mnist [--from DIR] --out X.h5 | folder DIR --size 32 --out X.h5 | "
                      "cifar DIR --out X.h5",
                      t.help());
  TAL_REQUIRE(is_one_of(format, kFormats), "command line: unknown format '", format, "' (expected ",
              join_choices(kFormats), ")", did_you_mean(format, kFormats));
  const auto o = resolve_options(t, cl).data_import;
  TAL_REQUIRE(!o.out.empty(), "command line: --out FILE.h5 is required");
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

}  // namespace

int run_data(const Args& args) {
  return dispatch("data", args,
                  {{"import", "tal data import fashion-mnist [--from DIR] | folder DIR --size 32 | cifar DIR  --out X.h5",
                    data_import},
                   {"info", "tal data info X.h5   summary of a task store", [](const Args& a) {
                      TAL_REQUIRE(a.size() == 1, "command line: tal data info takes one FILE.h5");
                      print_summary(a[0]);
                      return 0;
                    }}});
}

}  // namespace tal
