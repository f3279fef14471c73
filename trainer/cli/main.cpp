// tal: the one binary. A thin dispatcher: every subcommand lives in its own file; errors are reported here, once.
#include <c10/util/Exception.h>
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include <functional>

#include "base/error.h"
#include "base/suggest.h"
#include "trainer/cli/commands.h"
#include "trainer/cli/runtime.h"

namespace tal {
namespace {

struct Command {
  const char* name;
  const char* summary;
  std::function<int(const Args&, Runtime&)> run;
};

template <int (*F)(const Args&)>
int without_runtime(const Args& a, Runtime&) {
  return F(a);
}

const Command kCommands[] = {
    {"train", "train a hypernetwork (stage 1, stage 2 or both; one process or many ranks)", run_train},
    {"predict", "predicted weights for tasks x architectures into an HDF5 archive", without_runtime<run_predict>},
    {"eval", "test accuracy and MCC (a language model: perplexity) of archived models as predicted", without_runtime<run_eval>},
    {"finetune", "fine-tune descendants from every initialisation, as a grid over ranks", run_finetune},
    {"report", "report.md and PNG plots of a training or fine-tuning run", without_runtime<run_report>},
    {"export", "archived models as model.safetensors (+ config.json for HF models)", without_runtime<run_export>},
    {"inspect", "what any file TAL wrote contains", without_runtime<run_inspect>},
    {"data", "import datasets into HDF5 task stores; summarise one", without_runtime<run_data>},
    {"ancestry", "train the ancestry (teacher) ViT", without_runtime<run_ancestry>},
    {"tasks", "task embeddings from the ancestry model", without_runtime<run_tasks>},
    {"zoo", "sample architectures from the zoo rules; show one architecture's graph", without_runtime<run_zoo>},
    {"hypernet", "parameter counts of a configured hypernetwork", without_runtime<run_hypernet>},
    {"bench", "throughput figures: predict, step, plan, allreduce, loader", run_bench},
    {"info", "what this binary was built with and the devices it sees (--json for scripts)", without_runtime<run_info>},
};

// Tensors of tens to hundreds of MiB come and go every step (a GPT-2's logits over a 50,257-token vocabulary: 206
// MiB for 16 x 64 tokens). By default glibc hands freed memory back to the kernel (trimming the heap, unmapping
// large blocks) and faults it back in on the next allocation; on virtual machines a page fault costs more than the
// arithmetic on the page (`tal bench predict` ViT-Ti: 180 ms with the defaults, 26 ms without the round trip; a
// GPT-2 fine-tuning run 1.27x faster with blocks up to 512 MiB kept than up to 32 MiB). Keep freed memory for reuse
// instead: blocks up to 512 MiB come from the heap, and the heap is trimmed only above 1 GiB free. Resident memory
// stays near its peak, which a training process reaches in its first steps anyway.
// glibc's own variables (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_) win: with any of them set,
// the allocator is left as they say (the cost of keeping: 3.4 GiB instead of 2.1 GiB per rank at the peak of a
// GPT-2 stage-1 step of configs/tal_gpt2_fortunes.yaml).
void keep_freed_memory() {
  for (const char* v : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"})
    if (std::getenv(v)) return;
  mallopt(M_MMAP_THRESHOLD, 512 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
}

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
  keep_freed_memory();
  if (argc < 2) return usage(2);
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") return usage(0);
  const Args args(argv + 2, argv + argc);
  Runtime runtime;  // destroyed last: MPI is finalised after every command object is gone
  for (const auto& c : kCommands) {
    if (name != c.name) continue;
    std::string message;
    try {
      return c.run(args, runtime);
    } catch (const Error& e) {
      message = e.what();
    } catch (const c10::Error& e) {
      message = e.what_without_backtrace();
    } catch (const std::bad_alloc&) {
      message = "out of memory (HINT: a smaller hypernet, train.batch or train.meta_batch; run.memory_limit refuses "
                "configurations whose estimate is too large before they start)";
    } catch (const std::exception& e) {
      message = e.what();
    }
    // One line: a library's multi-line message is folded, and what it echoes is bounded.
    for (auto& ch : message)
      if (ch == '\n') ch = ' ';
    message = elide_long_words(message);
    auto* dist = runtime.started();
    if (dist && dist->comm().world() > 1) {
      std::fprintf(stderr, "tal: error [rank %d]: %s\n", dist->comm().rank(), message.c_str());
      std::fflush(stderr);
      DistContext::abort_job(1);  // end every rank so none hangs in a collective
    }
    std::fprintf(stderr, "tal: error: %s\n", message.c_str());
    return 1;
  }
  std::fprintf(stderr, "tal: error: unknown command '%s' (see tal --help)\n", name.c_str());
  return 2;
}
