#include "datasets/importers.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "datasets/image_decode.h"
#include "base/error.h"

namespace tal {
namespace fs = std::filesystem;
namespace {

// Whole file, transparently gunzipped (gzread passes plain files through).
std::vector<uint8_t> read_maybe_gzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  TAL_REQUIRE(f, path, ": cannot open");
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  int n = 0;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + n);
  int errnum = 0;
  const char* msg = gzerror(f, &errnum);
  const std::string err = errnum != Z_OK && errnum != Z_STREAM_END ? msg : "";
  gzclose(f);
  TAL_REQUIRE(n >= 0 && err.empty(), path, ": corrupt or truncated gzip data (", err, ")");
  return out;
}

uint32_t big_endian(const std::vector<uint8_t>& b, size_t at) {
  return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) | uint32_t{b[at + 3]};
}

// The path of STEM(.gz) in DIR, or "" when neither exists.
std::string find_idx(const std::string& dir, const std::string& stem) {
  for (const auto& name : {stem + ".gz", stem}) {
    const auto p = fs::path(dir) / name;
    if (fs::exists(p)) return p.string();
  }
  return "";
}

SplitData read_idx_pair(const std::string& images_path, const std::string& labels_path) {
  const auto img = read_maybe_gzip(images_path), lab = read_maybe_gzip(labels_path);
  TAL_REQUIRE(img.size() >= 16 && big_endian(img, 0) == 0x00000803, images_path,
              ": not an IDX image file (magic 0x00000803 expected)");
  TAL_REQUIRE(lab.size() >= 8 && big_endian(lab, 0) == 0x00000801, labels_path,
              ": not an IDX label file (magic 0x00000801 expected)");
  const int64_t n = big_endian(img, 4), h = big_endian(img, 8), w = big_endian(img, 12);
  // Three 32-bit counts: their product is taken in 128 bits, so no header wraps it round to the file's size.
  const unsigned __int128 pixels = static_cast<unsigned __int128>(n) * static_cast<uint64_t>(h) * static_cast<uint64_t>(w);
  TAL_REQUIRE(h > 0 && w > 0 && pixels == img.size() - 16, images_path, ": truncated: header says ", n, "x", h, "x", w,
              " images, file holds ", img.size() - 16, " bytes of pixels");
  const int64_t nl = big_endian(lab, 4);
  TAL_REQUIRE(static_cast<int64_t>(lab.size()) == 8 + nl, labels_path, ": truncated: header says ", nl,
              " labels, file holds ", lab.size() - 8);
  TAL_REQUIRE(nl == n, labels_path, ": ", nl, " labels for ", n, " images in ", images_path);
  SplitData d;
  d.images = at::from_blob(const_cast<uint8_t*>(img.data()) + 16, {n, 1, h, w}, at::kByte).clone();
  d.labels = at::from_blob(const_cast<uint8_t*>(lab.data()) + 8, {n}, at::kByte).to(at::kLong);
  return d;
}

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

std::vector<std::string> sorted_subdirs(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory()) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<fs::path> sorted_images(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && is_image_file(e.path())) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

SplitData load_images(const std::vector<std::pair<fs::path, int64_t>>& files, int64_t size, bool skip_corrupt,
                      std::vector<std::string>& skipped) {
  std::vector<at::Tensor> images;
  std::vector<int64_t> labels;
  for (const auto& [path, label] : files) {
    try {
      images.push_back(resize_square(decode_image(path.string()), size));
      labels.push_back(label);
    } catch (const Error&) {
      if (!skip_corrupt) throw;
      skipped.push_back(path.string());
    }
  }
  SplitData d;
  d.images = images.empty() ? at::empty({0, 3, size, size}, at::kByte) : at::stack(images);
  d.labels = at::tensor(labels, at::kLong);
  return d;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  TAL_REQUIRE(in, path, ": cannot open");
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

SplitData read_cifar_files(const std::vector<std::string>& files, int64_t label_bytes, int64_t label_offset,
                           int64_t n_classes) {
  const int64_t record = label_bytes + 3072;
  std::vector<at::Tensor> images, labels;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    TAL_REQUIRE(in, path, ": cannot open");
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    TAL_REQUIRE(!bytes.empty() && bytes.size() % static_cast<size_t>(record) == 0, path, ": ", bytes.size(),
                " bytes is not a whole number of ", record, "-byte CIFAR records (truncated or another format?)");
    const int64_t n = static_cast<int64_t>(bytes.size()) / record;
    auto raw = at::from_blob(bytes.data(), {n, record}, at::kByte).clone();
    auto lab = raw.select(1, label_offset).to(at::kLong);
    TAL_REQUIRE(lab.max().item<int64_t>() < n_classes, path, ": label ", lab.max().item<int64_t>(), " outside the ",
                n_classes, " classes");
    labels.push_back(lab);
    images.push_back(raw.slice(1, label_bytes).reshape({n, 3, 32, 32}));
  }
  return {at::cat(images), at::cat(labels)};
}

}  // namespace

ImportedDataset import_fashion_mnist(const std::string& dir) {
  TAL_REQUIRE(fs::is_directory(dir), dir, ": no such directory (install the dataset-fashion-mnist package)");
  ImportedDataset d;
  // All four files are looked up before any is read, so a message names every missing one.
  const char* stems[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                         "t10k-labels-idx1-ubyte"};
  std::string paths[4], missing;
  for (int i = 0; i < 4; ++i) {
    paths[i] = find_idx(dir, stems[i]);
    if (paths[i].empty()) missing += std::string(missing.empty() ? "" : ", ") + stems[i] + "(.gz)";
  }
  TAL_REQUIRE(missing.empty(), dir, ": no ", missing, " (is the dataset-fashion-mnist package installed?)");
  d.train = read_idx_pair(paths[0], paths[1]);
  d.test = read_idx_pair(paths[2], paths[3]);
  d.meta.name = "fashion-mnist";
  d.meta.source = "Fashion-MNIST IDX files from " + dir;
  d.meta.classes = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  compute_mean_std(d.train.images, d.meta.mean, d.meta.std);
  return d;
}

ImportedDataset import_image_folder(const std::string& dir, int64_t size, int64_t test_every, bool skip_corrupt) {
  TAL_REQUIRE(fs::is_directory(dir), dir, ": no such directory");
  TAL_REQUIRE(size > 0, "image size must be positive, got ", size);
  fs::path train_dir = dir, test_dir;
  if (fs::is_directory(fs::path(dir) / "train")) {
    train_dir = fs::path(dir) / "train";
    for (const char* t : {"test", "val"})
      if (fs::is_directory(fs::path(dir) / t)) test_dir = fs::path(dir) / t;
    TAL_REQUIRE(!test_dir.empty(), dir, ": has train/ but no test/ or val/");
  }
  ImportedDataset d;
  d.meta.classes = sorted_subdirs(train_dir);
  TAL_REQUIRE(!d.meta.classes.empty(), train_dir.string(), ": no class folders");
  std::vector<std::pair<fs::path, int64_t>> train, test;
  for (size_t c = 0; c < d.meta.classes.size(); ++c) {
    const auto files = sorted_images(train_dir / d.meta.classes[c]);
    TAL_REQUIRE(!files.empty(), (train_dir / d.meta.classes[c]).string(), ": empty class folder (no .png/.jpg/.jpeg)");
    for (size_t i = 0; i < files.size(); ++i) {
      const bool held = test_dir.empty() && test_every > 0 && files.size() > 1 &&
                        i % static_cast<size_t>(test_every) == static_cast<size_t>(test_every) - 1;
      (held ? test : train).emplace_back(files[i], static_cast<int64_t>(c));
    }
    if (!test_dir.empty()) {
      const auto tdir = test_dir / d.meta.classes[c];
      if (fs::is_directory(tdir))
        for (const auto& f : sorted_images(tdir)) test.emplace_back(f, static_cast<int64_t>(c));
    }
  }
  if (!test_dir.empty())
    for (const auto& c : sorted_subdirs(test_dir))
      TAL_REQUIRE(std::find(d.meta.classes.begin(), d.meta.classes.end(), c) != d.meta.classes.end(),
                  (test_dir / c).string(), ": class folder not present under ", train_dir.string());
  TAL_REQUIRE(!test.empty(), dir, ": no test images (add test/ or more images per class)");
  d.train = load_images(train, size, skip_corrupt, d.skipped);
  d.test = load_images(test, size, skip_corrupt, d.skipped);
  TAL_REQUIRE(d.train.images.size(0) > 0 && d.test.images.size(0) > 0, dir, ": no decodable ",
              d.train.images.size(0) == 0 ? "training" : "test", " images (", d.skipped.size(), " corrupt)");
  d.meta.name = fs::path(dir).filename().string();
  d.meta.source = "image folder " + dir + " resized to " + std::to_string(size);
  compute_mean_std(d.train.images, d.meta.mean, d.meta.std);
  return d;
}

ImportedDataset import_cifar(const std::string& dir) {
  TAL_REQUIRE(fs::is_directory(dir), dir, ": no such directory");
  ImportedDataset d;
  const fs::path root(dir);
  if (fs::exists(root / "train.bin")) {  // CIFAR-100: coarse label, fine label, pixels
    d.meta.classes = read_lines((root / "fine_label_names.txt").string());
    const auto n = static_cast<int64_t>(d.meta.classes.size());
    d.train = read_cifar_files({(root / "train.bin").string()}, 2, 1, n);
    d.test = read_cifar_files({(root / "test.bin").string()}, 2, 1, n);
    d.meta.name = "cifar-100";
  } else {
    std::vector<std::string> batches;
    for (int i = 1; i <= 5; ++i)
      if (fs::exists(root / ("data_batch_" + std::to_string(i) + ".bin")))
        batches.push_back((root / ("data_batch_" + std::to_string(i) + ".bin")).string());
    TAL_REQUIRE(!batches.empty() && fs::exists(root / "test_batch.bin"), dir,
                ": neither CIFAR-10 (data_batch_*.bin, test_batch.bin) nor CIFAR-100 (train.bin, test.bin) files");
    d.meta.classes = read_lines((root / "batches.meta.txt").string());
    const auto n = static_cast<int64_t>(d.meta.classes.size());
    d.train = read_cifar_files(batches, 1, 0, n);
    d.test = read_cifar_files({(root / "test_batch.bin").string()}, 1, 0, n);
    d.meta.name = "cifar-10";
  }
  d.meta.source = "CIFAR binary files from " + dir;
  compute_mean_std(d.train.images, d.meta.mean, d.meta.std);
  return d;
}

}  // namespace tal
