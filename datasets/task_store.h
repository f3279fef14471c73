// The HDF5 task store of DESIGN.md 4.3: one file per dataset with /train and /test splits of uint8 images
// [N, C, H, W] and int64 labels [N], and the attributes name, classes, mean, std, source.
#pragma once

#include <ATen/ATen.h>

#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tal {

class H5File;

constexpr int64_t kTaskStoreFormat = 1;

struct SplitData {
  at::Tensor images;  // uint8 [N, C, H, W]
  at::Tensor labels;  // int64 [N]
};

struct StoreMeta {
  std::string name;
  std::string source;
  std::vector<std::string> classes;
  std::vector<double> mean, std;  // per channel, of train images scaled to [0, 1]
};

// Per-channel mean and std of uint8 images scaled to [0, 1].
void compute_mean_std(const at::Tensor& images, std::vector<double>& mean, std::vector<double>& std);

// Validates shapes and labels, then writes atomically (temp name, fsync, rename): `path` is complete or untouched.
void write_task_store(const std::string& path, const StoreMeta& meta, const SplitData& train, const SplitData& test);

enum class Split { Train, Test };
const char* split_name(Split s);
Split parse_split(const std::string& text);  // "train" | "test"

// Read access. The constructor checks the layout and names the file and dataset of the first problem.
// A split that fits in `memory_limit` bytes is decompressed into memory once; a larger one is streamed in blocks
// of kBlock images through a small LRU cache, so datasets larger than memory train. Thread-safe.
class TaskStore {
 public:
  static constexpr int64_t kBlock = 1024;
  static constexpr int64_t kCachedBlocks = 64;
  static constexpr int64_t kDefaultMemoryLimit = int64_t{2} << 30;  // data.memory_limit
  explicit TaskStore(const std::string& path, int64_t memory_limit = kDefaultMemoryLimit);
  ~TaskStore();
  const std::string& path() const { return path_; }
  const StoreMeta& meta() const { return meta_; }
  int64_t size(Split s) const;
  std::vector<int64_t> image_shape() const { return image_shape_; }  // C, H, W
  const at::Tensor& labels(Split s) const;
  // Images [start, start + count) of a split, reading only the chunks that hold them.
  at::Tensor read_images(Split s, int64_t start, int64_t count) const;
  bool in_memory(Split s) const { return resident_[static_cast<int>(s)].defined(); }
  // Images at the given indices, in that order (reads each contiguous run once).
  at::Tensor gather_images(Split s, const std::vector<int64_t>& indices) const;

 private:
  std::string path_;
  std::unique_ptr<H5File> file_;
  StoreMeta meta_;
  std::vector<int64_t> image_shape_;
  at::Tensor train_labels_, test_labels_;
  at::Tensor resident_[2];
  // Streaming: (split, block) -> images, most recent first.
  mutable std::mutex mutex_;
  mutable std::list<std::pair<std::pair<int, int64_t>, at::Tensor>> blocks_;
  at::Tensor block(Split s, int64_t b) const;
};

}  // namespace tal
