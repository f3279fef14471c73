// Where a descendant's initial weights come from, one entry per initialisation a fine-tuning grid names:
//   tal, logah, ghn3   predicted by that hypernetwork's checkpoint (TAL with the task's embedding)
//   tal-no-film        the TAL checkpoint with a zero task embedding: what the task conditioning buys
//   tal-inherit        an inheriting TAL hypernetwork (hypernet.base=ancestry): weight selection from the ancestry
//                      plus the correction it predicts from the graph and the task
//   random             the family's ordinary initialisation (torchvision's for ViT)
//   ancestry-select    weight selection from the ancestry model (weight_selection.h)
// Tensors no hypernetwork predicts (ViT class_token) and those weight selection cannot take come from the family's
// initialisation with the run's seed. Under the fair protocol a hypernetwork's prediction then gets, on a label
// space it was not trained on, either its predicted head or the family's fresh head (`reset`: the same tensor, from
// the same seed, as `random` starts from), and the references' symmetry-breaking noise on its predicted tensors.
// A predicted embedding table longer than the hypernetwork's decoded block (GPT-2's wte, which the decoder tiles, so
// token t would share its row with t + max_shape) is replaced as finetune.tiled_embeddings says.
// A grid may also name a *tuned host*, `INIT>TASK`: INIT's descendant fine-tuned fully on another task of the grid
// first (the grid makes it: finetune.cpp); here it is INIT's, and its record names the task.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "datasets/tasks.h"
#include "trainer/config/commands.h"
#include "trainer/files/ancestry_file.h"
#include "trainer/files/finetune_results.h"
#include "trainer/train/trained_hypernet.h"

namespace tal {

const std::vector<std::string>& finetune_init_names();

// `INIT>TASK` split into its initialisation and the task its host is fine-tuned on first ("" for a plain INIT).
struct InitName {
  std::string base, tuned_on;
};
InitName split_init_name(const std::string& init);
// Throws one line naming finetune.inits unless `init` is a registered initialisation or `INIT>TASK` of one.
void check_init_name(const std::string& init);

class Initializers {
 public:
  // Loads what the named initialisations need, and nothing else; throws naming the key of a missing or wrong file.
  // Every method below takes a tuned host's name too, and answers for its initialisation.
  Initializers(const CommandOptions& o, const std::vector<std::string>& inits, const std::vector<Task>& tasks,
               at::Device device);
  // Fresh initial parameters of `spec` for `task`, as leaves on the device that require grad. `head`: reset | predicted
  // | own (see has_head_choice); `noise_beta`: the symmetry-breaking noise of protocol.h on predicted tensors.
  ParamMap make(const std::string& init, const Task& task, const ArchSpec& spec, uint64_t seed,
                const std::string& head = "own", double noise_beta = 0);
  // Whether `init` has a predicted head to keep or reset on `task`: a hypernetwork's, on a held-out task.
  bool has_head_choice(const std::string& init, const Task& task) const;
  // The content hash of the ancestry tensors `init`'s weights of `spec` take in place of tiled embedding tables
  // (finetune.tiled_embeddings=ancestry), "" when none: part of what defines a cell.
  std::string tiled_source(const std::string& init, const ArchSpec& spec);
  // The training zoo of the first hypernetwork the grid names (empty rules when it names none): what "inside the
  // zoo" means in the results.
  const ZooOptions* training_zoo() const;
  // What each initialisation came from (prediction times are averaged over the results file's runs).
  std::vector<FinetuneInit> infos() const;
  const FinetuneInit& info(const std::string& init) const;

 private:
  std::vector<std::string> order_;  // as the grid names them
  std::map<std::string, FinetuneInit> info_;
  std::map<std::string, TrainedHypernet> nets_;  // by init name (tal-no-film shares tal's)
  std::map<std::string, at::Tensor> embeddings_;
  std::unique_ptr<AncestryModel> ancestry_;
  std::string ancestry_path_, tiled_embeddings_;
  const AncestryModel& ancestry();  // loaded on first use
  std::map<std::string, int64_t> task_dims_;  // per FiLM initialisation
  at::Device device_;
};

}  // namespace tal
