// Tasks: a task store (images or text) seen through a class subset (relabelled 0..k-1), a fixed transform and
// per-task augmentations, defined in a task-suite YAML. Image batches come out normalised with the dataset's
// mean/std; text batches are token ids padded with <|endoftext|>, truncated to the task's max_length. A text store
// read as a language-model corpus (`pack`) is the union of the selected texts, each followed by <|endoftext|>,
// cut into sequences of max_length tokens.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "datasets/task_store.h"
#include "datasets/text_store.h"

namespace tal {

// The fixed transforms a task may apply: none | rotate90 | rotate180 | rotate270 | invert | hflip | rgb32.
const std::vector<std::string>& task_transform_names();
// The headline metrics a classification task may name: accuracy | mcc (the Matthews correlation, GLUE's for CoLA).
const std::vector<std::string>& task_metric_names();

struct TaskDef {
  std::string name;
  std::string dataset;               // task-store file, relative to data.root unless absolute
  std::vector<std::string> classes;  // subset by class name or index; empty = all, in store order
  std::string transform = "none";    // none | rotate90 | rotate180 | rotate270 | invert | hflip | rgb32
  bool flip = false;                 // random horizontal flips while training
  int64_t crop_padding = 0;          // random crops after zero-padding by this many pixels while training
  bool heldout = false;              // never seen in multi-task training; for transfer evaluation
  int64_t max_length = 0;            // text: tokens per sequence (0: the store's)
  bool pack = false;                 // text: a language-model corpus of packed sequences (its texts, or those of
                                     // `classes`, in max_length-token sequences), read by a language-model head
  std::string metric = "accuracy";   // what fine-tuning reports first: accuracy | mcc (not part of the data)
  // Stable hash of what defines the task's data (dataset, classes, transform, length): embeddings are keyed by it.
  std::string hash() const;
};

// Reads a suite file: `tasks:` followed by a list of task mappings. Unknown keys, duplicate names and bad values
// are errors naming the file, the task and the key.
std::vector<TaskDef> load_task_suite(const std::string& path);

struct Batch {
  at::Tensor inputs;  // images: float [B, C, H, W], normalised; text: int64 token ids [B, T]
  at::Tensor labels;  // int64 [B], in 0..num_classes-1; a packed corpus: the token ids again (next-token targets)
};

class Task {
 public:
  Task(TaskDef def, std::shared_ptr<const TaskStore> store);
  Task(TaskDef def, std::shared_ptr<const TextStore> store);
  const TaskDef& def() const { return def_; }
  bool is_text() const { return text_ != nullptr; }
  const TaskStore& store() const { return *store_; }
  const TextStore& text_store() const { return *text_; }
  const std::string& store_path() const;
  int64_t num_classes() const { return static_cast<int64_t>(class_names_.size()); }
  const std::vector<std::string>& class_names() const { return class_names_; }
  int64_t size(Split s) const;
  std::vector<int64_t> image_shape() const;  // C, H, W after the transform (image tasks)
  int64_t sequence_length() const;            // tokens per sequence (text tasks)
  int64_t vocab_size() const;                 // text tasks
  // Images at task positions (0..size-1 of the split). With `augment_seed` set, training augmentations are drawn
  // per image from (augment_seed, stream position) so any rank reproduces them.
  Batch load(Split s, const std::vector<int64_t>& positions, const std::vector<uint64_t>* augment_seeds = nullptr) const;
  // Apply the fixed transform to uint8 images [B, C, H, W].
  at::Tensor transform(const at::Tensor& images) const;

 private:
  void select_classes(const std::vector<std::string>& all, const std::string& where, const at::Tensor& train_labels,
                      const at::Tensor& test_labels);
  Batch load_text(Split s, const std::vector<int64_t>& positions) const;

  TaskDef def_;
  std::shared_ptr<const TaskStore> store_;
  std::shared_ptr<const TextStore> text_;
  at::Tensor packed_train_, packed_test_;  // int64 [S, max_length] for a packed corpus
  std::vector<std::string> class_names_;
  std::vector<int64_t> store_classes_;          // store label of each task class
  std::vector<int64_t> train_index_, test_index_;  // store indices of the task's images
  std::vector<int64_t> train_label_, test_label_;  // task labels of those images
};

// Opens each store once and resolves every task of a suite against data_root. Throws naming task and class for a
// class subset naming an unknown class.
std::vector<Task> resolve_tasks(const std::vector<TaskDef>& defs, const std::string& data_root,
                                int64_t memory_limit = TaskStore::kDefaultMemoryLimit);

// A permutation of 0..n-1 for an epoch: a pure function of (seed, stream, epoch).
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, uint64_t stream, int64_t epoch);
// This rank's contiguous share of an epoch's order: disjoint across ranks, covering the epoch.
std::vector<int64_t> shard(const std::vector<int64_t>& order, int64_t rank, int64_t world);

// An endless stream over a task's training images: position p is image order(epoch = p / n)[p % n].
class TaskStream {
 public:
  TaskStream(int64_t n, uint64_t seed, uint64_t stream) : n_(n), seed_(seed), stream_(stream) {}
  int64_t at(int64_t position);

 private:
  int64_t n_;
  uint64_t seed_, stream_;
  int64_t cached_epoch_ = -1;
  std::vector<int64_t> order_;
};

}  // namespace tal
