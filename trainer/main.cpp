// tal: the one binary. A thin dispatcher: every subcommand lives in its own file; errors are reported here, once.
#include <c10/util/Exception.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#include "hypernet/error.h"
#include "trainer/commands.h"

namespace tal {

int print_help(const std::string& usage, const std::string& table_help) {
  std::cout << "usage: " << usage << "\n";
  if (!table_help.empty())
    std::cout << "\noptions (YAML key, flag; set with --config FILE.yaml, --flag VALUE or key.path=VALUE):\n"
              << table_help << "  --config FILE                     YAML configuration\n"
              << "  --dump-config                     print the resolved configuration and exit\n";
  return 0;
}

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const Args&);
};

const Command kCommands[] = {
    {"data", "import datasets into HDF5 task stores; summarise one", run_data},
    {"ancestry", "train the ancestry (teacher) ViT", run_ancestry},
    {"tasks", "task embeddings from the ancestry model", run_tasks},
    {"zoo", "sample architectures from the zoo rules; show one architecture's graph", run_zoo},
    {"hypernet", "parameter counts of a configured hypernetwork", run_hypernet},
    {"bench", "throughput figures: predict", run_bench},
};

int usage(int code) {
  std::printf("tal: task-aware graph hypernetworks\n\nusage: tal COMMAND [options]\n\ncommands:\n");
  for (const auto& c : kCommands) std::printf("  %-10s %s\n", c.name, c.summary);
  std::printf("\n'tal COMMAND --help' lists a command's options.\n");
  return code;
}

}  // namespace
}  // namespace tal

int main(int argc, char** argv) {
  using namespace tal;
  if (argc < 2) return usage(2);
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") return usage(0);
  const Args args(argv + 2, argv + argc);
  for (const auto& c : kCommands) {
    if (name != c.name) continue;
    try {
      return c.run(args);
    } catch (const Error& e) {
      std::fprintf(stderr, "tal: error: %s\n", e.what());
    } catch (const c10::Error& e) {
      std::fprintf(stderr, "tal: error: %s\n", e.what_without_backtrace());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tal: error: %s\n", e.what());
    }
    return 1;
  }
  std::fprintf(stderr, "tal: error: unknown command '%s' (see tal --help)\n", name.c_str());
  return 2;
}
