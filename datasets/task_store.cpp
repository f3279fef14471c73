#include "datasets/task_store.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "datasets/atomic_file.h"
#include "datasets/h5.h"
#include "datasets/h5_check.h"
#include "base/error.h"

namespace tal {

const char* split_name(Split s) { return s == Split::Train ? "train" : "test"; }

Split parse_split(const std::string& text) {
  TAL_REQUIRE(text == "train" || text == "test", "split '", text, "' (expected train or test)");
  return text == "train" ? Split::Train : Split::Test;
}

void compute_mean_std(const at::Tensor& images, std::vector<double>& mean, std::vector<double>& std) {
  mean.clear();
  std.clear();
  const int64_t channels = images.size(1);
  for (int64_t c = 0; c < channels; ++c) {
    // Chunked double accumulation: exact enough and no float copy of the whole split.
    double sum = 0, sumsq = 0;
    int64_t n = 0;
    for (int64_t start = 0; start < images.size(0); start += 4096) {
      const auto x = images.slice(0, start, std::min(images.size(0), start + 4096)).select(1, c).to(at::kDouble) / 255.0;
      sum += x.sum().item<double>();
      sumsq += x.pow(2).sum().item<double>();
      n += x.numel();
    }
    const double m = sum / static_cast<double>(std::max<int64_t>(n, 1));
    mean.push_back(m);
    std.push_back(std::sqrt(std::max(0.0, sumsq / static_cast<double>(std::max<int64_t>(n, 1)) - m * m)));
  }
}

namespace {

std::string shape_text(const std::vector<int64_t>& dims) {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i) out += (i ? ", " : "") + std::to_string(dims[i]);
  return out + "]";
}

void check_split(const std::string& path, const char* split, const SplitData& d, int64_t n_classes,
                 const std::vector<int64_t>& shape) {
  TAL_REQUIRE(d.images.dim() == 4 && d.images.scalar_type() == at::kByte, path, ": /", split,
              "/images must be uint8 [N, C, H, W]");
  TAL_REQUIRE(d.labels.dim() == 1 && d.labels.size(0) == d.images.size(0), path, ": /", split, "/labels has ",
              d.labels.numel(), " entries for ", d.images.size(0), " images");
  TAL_REQUIRE(d.images.size(0) > 0, path, ": /", split, " is empty");
  TAL_REQUIRE(d.images.sizes().slice(1).vec() == shape, path, ": /", split, "/images has a different image shape");
  const auto lo = d.labels.min().item<int64_t>(), hi = d.labels.max().item<int64_t>();
  TAL_REQUIRE(lo >= 0 && hi < n_classes, path, ": /", split, "/labels range [", lo, ", ", hi, "] outside the ",
              n_classes, " classes");
}

}  // namespace

void write_task_store(const std::string& path, const StoreMeta& meta, const SplitData& train, const SplitData& test) {
  TAL_REQUIRE(!meta.classes.empty(), path, ": no classes");
  const auto shape = train.images.sizes().slice(1).vec();
  check_split(path, "train", train, static_cast<int64_t>(meta.classes.size()), shape);
  check_split(path, "test", test, static_cast<int64_t>(meta.classes.size()), shape);
  write_atomically(path, [&](const std::string& tmp) {
    H5File f(tmp, H5File::Mode::Truncate);
    f.set_attr("/", "kind", "tal-task-store");
    f.set_attr("/", "format_version", kTaskStoreFormat);
    f.set_attr("/", "name", meta.name);
    f.set_attr("/", "source", meta.source);
    f.write_strings("/classes", meta.classes);
    f.write("/mean", at::tensor(meta.mean, at::kDouble));
    f.write("/std", at::tensor(meta.std, at::kDouble));
    for (const auto& [name, d] : {std::pair<const char*, const SplitData*>{"train", &train}, {"test", &test}}) {
      f.write(std::string("/") + name + "/images", d->images.contiguous());
      f.write(std::string("/") + name + "/labels", d->labels.to(at::kLong));
    }
  });
}

TaskStore::TaskStore(const std::string& path, int64_t memory_limit) : path_(path) {
  // A file that crashes HDF5 crashes a child (datasets/h5_check.h); images are read later, and not rehearsed.
  rehearse_in_child(path, "task store", [&] { TaskStore(path, 0); });
  file_ = std::make_unique<H5File>(path, H5File::Mode::Read);
  const H5File& f = *file_;
  TAL_REQUIRE(f.has_attr("/", "kind") && f.attr_str("/", "kind") == "tal-task-store", path,
              ": not a TAL task store (no kind=tal-task-store attribute; create one with 'tal data import')");
  if (f.has_attr("/", "format_version")) {
    const auto v = f.attr_int("/", "format_version");
    TAL_REQUIRE(v == kTaskStoreFormat, path, ": task store format version ", v, "; this build reads version ",
                kTaskStoreFormat);
  }
  // Every dataset with its type and rank before anything is read.
  f.require("/classes", {"string"}, 1);
  f.require("/mean", {"float64", "float32"}, 1);
  f.require("/std", {"float64", "float32"}, 1);
  const std::vector<std::string> integers = {"int64", "int32", "uint8", "int8"};
  for (const char* split : {"train", "test"}) {
    f.require(std::string("/") + split + "/images", {"uint8"}, 4);
    f.require(std::string("/") + split + "/labels", integers, 1);
  }
  meta_.name = f.has_attr("/", "name") ? f.attr_str("/", "name") : std::filesystem::path(path).stem().string();
  meta_.source = f.has_attr("/", "source") ? f.attr_str("/", "source") : "";
  meta_.classes = f.read_strings("/classes");
  TAL_REQUIRE(!meta_.classes.empty(), path, ": '/classes' is empty");
  for (const auto& c : meta_.classes) TAL_REQUIRE(!c.empty(), path, ": '/classes' holds an empty class name");
  const auto mean = f.read("/mean").to(at::kDouble), std = f.read("/std").to(at::kDouble);
  meta_.mean.assign(mean.data_ptr<double>(), mean.data_ptr<double>() + mean.numel());
  meta_.std.assign(std.data_ptr<double>(), std.data_ptr<double>() + std.numel());
  const auto train_shape = f.shape("/train/images"), test_shape = f.shape("/test/images");
  image_shape_ = {train_shape[1], train_shape[2], train_shape[3]};
  TAL_REQUIRE(std::vector<int64_t>(test_shape.begin() + 1, test_shape.end()) == image_shape_, path,
              ": '/test/images' is ", shape_text(test_shape), " but '/train/images' is ", shape_text(train_shape));
  TAL_REQUIRE(image_shape_[0] >= 1 && image_shape_[1] >= 1 && image_shape_[2] >= 1, path,
              ": '/train/images' has an empty image shape ", shape_text(train_shape));
  TAL_REQUIRE(static_cast<int64_t>(meta_.mean.size()) == image_shape_[0] &&
                  static_cast<int64_t>(meta_.std.size()) == image_shape_[0],
              path, ": '/mean' and '/std' need one value per channel (", image_shape_[0], ")");
  for (size_t c = 0; c < meta_.std.size(); ++c)
    TAL_REQUIRE(std::isfinite(meta_.mean[c]) && std::isfinite(meta_.std[c]) && meta_.std[c] > 0, path,
                ": '/mean' and '/std' must be finite with std > 0 (channel ", c, ": ", meta_.mean[c], ", ",
                meta_.std[c], ")");
  train_labels_ = f.read("/train/labels").to(at::kLong);
  test_labels_ = f.read("/test/labels").to(at::kLong);
  for (Split s : {Split::Train, Split::Test}) {
    const auto& l = labels(s);
    const std::string where = path + ": '/" + split_name(s);
    const int64_t images = (s == Split::Train ? train_shape : test_shape)[0];
    TAL_REQUIRE(images > 0, where, "' is empty (no images)");
    TAL_REQUIRE(l.size(0) == images, where, "/labels' has ", l.numel(), " entries for ", images, " images");
    const auto lo = l.min().item<int64_t>(), hi = l.max().item<int64_t>();
    TAL_REQUIRE(lo >= 0 && hi < static_cast<int64_t>(meta_.classes.size()), where, "/labels' holds labels in [", lo,
                ", ", hi, "], outside the ", meta_.classes.size(), " classes of '/classes'");
    int64_t bytes = images;
    for (auto d : image_shape_) bytes *= d;
    if (bytes <= memory_limit) resident_[static_cast<int>(s)] = f.read(std::string("/") + split_name(s) + "/images");
  }
}

TaskStore::~TaskStore() = default;

int64_t TaskStore::size(Split s) const { return labels(s).size(0); }

const at::Tensor& TaskStore::labels(Split s) const { return s == Split::Train ? train_labels_ : test_labels_; }

at::Tensor TaskStore::block(Split s, int64_t b) const {
  const std::pair<int, int64_t> key{static_cast<int>(s), b};
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = blocks_.begin(); it != blocks_.end(); ++it)
    if (it->first == key) {
      blocks_.splice(blocks_.begin(), blocks_, it);
      return it->second;
    }
  const int64_t start = b * kBlock, count = std::min(kBlock, size(s) - start);
  auto t = file_->read_rows(std::string("/") + split_name(s) + "/images", start, count);
  blocks_.emplace_front(key, t);
  if (static_cast<int64_t>(blocks_.size()) > kCachedBlocks) blocks_.pop_back();
  return t;
}

at::Tensor TaskStore::read_images(Split s, int64_t start, int64_t count) const {
  TAL_ASSERT(start >= 0 && count >= 0 && start + count <= size(s), "images [", start, ", ", start + count,
             ") outside split ", split_name(s));
  const auto& resident = resident_[static_cast<int>(s)];
  if (resident.defined()) return resident.narrow(0, start, count);
  std::vector<at::Tensor> parts;
  for (int64_t i = start; i < start + count;) {
    const int64_t b = i / kBlock, off = i % kBlock, n = std::min(kBlock - off, start + count - i);
    parts.push_back(block(s, b).narrow(0, off, n));
    i += n;
  }
  return parts.size() == 1 ? parts[0] : at::cat(parts);
}

at::Tensor TaskStore::gather_images(Split s, const std::vector<int64_t>& indices) const {
  std::vector<int64_t> order(indices.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return indices[a] < indices[b]; });
  std::vector<int64_t> shape = {static_cast<int64_t>(indices.size())};
  shape.insert(shape.end(), image_shape_.begin(), image_shape_.end());
  auto out = at::empty(shape, at::kByte);
  // Contiguous runs of the sorted indices are read with one hyperslab each.
  for (size_t i = 0; i < order.size();) {
    size_t j = i + 1;
    while (j < order.size() && indices[order[j]] <= indices[order[j - 1]] + 1) ++j;
    const int64_t first = indices[order[i]], last = indices[order[j - 1]];
    const auto run = read_images(s, first, last - first + 1);
    for (size_t k = i; k < j; ++k) out[order[k]].copy_(run[indices[order[k]] - first]);
    i = j;
  }
  return out;
}

}  // namespace tal
