// Task stores, importers, tasks, sharding, sampling and prefetching on real and test-made files.
#include <gtest/gtest.h>
#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "datasets/importers.h"
#include "datasets/prefetch.h"
#include "datasets/task_sampler.h"
#include "datasets/task_store.h"
#include "datasets/tasks.h"
#include "base/error.h"
#include "tests/test_util.h"

namespace tal {
namespace {
namespace fs = std::filesystem;

// A directory of this process's own temporary directory, emptied first.
fs::path fresh_dir(const std::string& name) {
  static const test::TempDir scratch;
  const auto d = scratch.path() / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

using test::error_of;

void write_bytes(const fs::path& p, const std::vector<uint8_t>& bytes, bool gzip) {
  if (gzip) {
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
}

std::vector<uint8_t> idx(uint32_t magic, std::vector<uint32_t> dims, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out;
  auto be = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
  };
  be(magic);
  for (auto d : dims) be(d);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

void write_png(const fs::path& p, int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = static_cast<png_uint_32>(w);
  img.height = static_cast<png_uint_32>(h);
  img.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> px;
  for (int i = 0; i < w * h; ++i) px.insert(px.end(), {r, g, b});
  ASSERT_TRUE(png_image_write_to_file(&img, p.c_str(), 0, px.data(), 0, nullptr));
}

void write_jpeg(const fs::path& p, int w, int h, uint8_t v) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  FILE* f = std::fopen(p.c_str(), "wb");
  jpeg_stdio_dest(&c, f);
  c.image_width = static_cast<JDIMENSION>(w);
  c.image_height = static_cast<JDIMENSION>(h);
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 95, TRUE);
  jpeg_start_compress(&c, TRUE);
  std::vector<uint8_t> row(static_cast<size_t>(w) * 3, v);
  while (c.next_scanline < c.image_height) {
    JSAMPROW r = row.data();
    jpeg_write_scanlines(&c, &r, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::fclose(f);
}

TEST(Importers, FashionMnistFromTheDebianPackage) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  ASSERT_TRUE(fs::exists(dir)) << "dataset-fashion-mnist is a dependency (launch/setup.sh installs it)";
  const auto d = import_fashion_mnist(dir);
  EXPECT_EQ(d.train.images.sizes().vec(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(d.test.images.size(0), 10000);
  EXPECT_TRUE(at::equal(d.train.labels.slice(0, 0, 10), at::tensor({9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, at::kLong)));
  EXPECT_NEAR(d.meta.mean[0], 0.2860, 1e-4);  // the dataset's well-known statistics
  EXPECT_NEAR(d.meta.std[0], 0.3530, 1e-4);
  const auto path = (fresh_dir("fmnist") / "fmnist.h5").string();
  write_task_store(path, d.meta, d.train, d.test);
  const TaskStore store(path);
  EXPECT_EQ(store.size(Split::Train), 60000);
  EXPECT_TRUE(at::equal(store.read_images(Split::Test, 123, 7), d.test.images.slice(0, 123, 130)));
  const TaskStore streamed(path, /*memory_limit=*/0);  // the larger-than-memory path
  EXPECT_FALSE(streamed.in_memory(Split::Train));
  const std::vector<int64_t> idx = {59999, 5, 1023, 1024, 6, 30000};
  EXPECT_TRUE(at::equal(streamed.gather_images(Split::Train, idx), store.gather_images(Split::Train, idx)));
  EXPECT_TRUE(at::equal(streamed.read_images(Split::Train, 1000, 100), d.train.images.slice(0, 1000, 1100)));
}

TEST(Importers, BadIdxFilesGiveOneClearError) {
  const auto dir = fresh_dir("idx");
  std::vector<uint8_t> pixels(3 * 4 * 4, 7), labels = {0, 1, 2};
  auto write_all = [&](bool truncate_images) {
    auto img = idx(0x803, {3, 4, 4}, pixels);
    if (truncate_images) img.resize(img.size() - 5);
    write_bytes(dir / "train-images-idx3-ubyte.gz", img, true);
    write_bytes(dir / "train-labels-idx1-ubyte.gz", idx(0x801, {3}, labels), true);
    write_bytes(dir / "t10k-images-idx3-ubyte", idx(0x803, {3, 4, 4}, pixels), false);  // plain files work too
    write_bytes(dir / "t10k-labels-idx1-ubyte", idx(0x801, {3}, labels), false);
  };
  write_all(false);
  EXPECT_EQ(import_fashion_mnist(dir.string()).train.images.size(0), 3);
  write_all(true);
  auto msg = error_of([&] { import_fashion_mnist(dir.string()); });
  EXPECT_NE(msg.find("train-images-idx3-ubyte.gz: truncated"), std::string::npos) << msg;
  write_all(false);
  write_bytes(dir / "train-labels-idx1-ubyte.gz", idx(0x803, {3}, labels), true);
  msg = error_of([&] { import_fashion_mnist(dir.string()); });
  EXPECT_NE(msg.find("not an IDX label file"), std::string::npos) << msg;
  write_all(false);
  std::vector<uint8_t> garbage = {0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};  // a broken gzip stream
  write_bytes(dir / "train-labels-idx1-ubyte.gz", garbage, false);
  msg = error_of([&] { import_fashion_mnist(dir.string()); });
  EXPECT_NE(msg.find("train-labels-idx1-ubyte.gz"), std::string::npos) << msg;
}

TEST(Importers, ImageFolderPngAndJpeg) {
  const auto dir = fresh_dir("folder");
  fs::create_directories(dir / "cat");
  fs::create_directories(dir / "dog");
  for (int i = 0; i < 4; ++i) write_png(dir / "cat" / ("c" + std::to_string(i) + ".png"), 10, 6, 200, 10, 30);
  for (int i = 0; i < 3; ++i) write_jpeg(dir / "dog" / ("d" + std::to_string(i) + ".jpg"), 12, 12, 128);
  std::ofstream(dir / "dog" / "notes.txt") << "not an image";
  const auto d = import_image_folder(dir.string(), 8, /*test_every=*/2);
  EXPECT_EQ(d.meta.classes, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(d.train.images.size(0) + d.test.images.size(0), 7);
  EXPECT_EQ(d.test.images.size(0), 3);  // every 2nd image of each class: 2 cats, 1 dog
  EXPECT_EQ(d.train.images.sizes().slice(1).vec(), (std::vector<int64_t>{3, 8, 8}));
  const auto cat = d.train.images[0];  // a solid PNG survives resizing exactly
  EXPECT_EQ(cat[0].min().item<uint8_t>(), 200);
  EXPECT_EQ(cat[1].max().item<uint8_t>(), 10);
  const auto dog = d.train.images[d.train.images.size(0) - 1].to(at::kInt);
  EXPECT_LE((dog - 128).abs().max().item<int>(), 2);  // JPEG is lossy
  const auto path = (dir.parent_path() / "tal_data_test_folder.h5").string();
  write_task_store(path, d.meta, d.train, d.test);
  EXPECT_EQ(TaskStore(path).meta().classes.size(), 2u);

  fs::create_directories(dir / "empty");
  auto msg = error_of([&] { import_image_folder(dir.string(), 8); });
  EXPECT_NE(msg.find("empty class folder"), std::string::npos) << msg;
  fs::remove(dir / "empty");
  std::ofstream(dir / "cat" / "broken.png") << "not a png";
  msg = error_of([&] { import_image_folder(dir.string(), 8, 2); });
  EXPECT_NE(msg.find("broken.png: cannot decode PNG"), std::string::npos) << msg;
}

TEST(Importers, CifarBinary) {
  const auto dir = fresh_dir("cifar");
  auto records = [](int n, int label0) {
    std::vector<uint8_t> out;
    for (int i = 0; i < n; ++i) {
      out.push_back(static_cast<uint8_t>((label0 + i) % 3));
      for (int p = 0; p < 3072; ++p) out.push_back(static_cast<uint8_t>((i * 7 + p) % 251));
    }
    return out;
  };
  write_bytes(dir / "data_batch_1.bin", records(10, 0), false);
  write_bytes(dir / "test_batch.bin", records(4, 1), false);
  std::ofstream(dir / "batches.meta.txt") << "airplane\nautomobile\nbird\n\n";
  const auto d = import_cifar(dir.string());
  EXPECT_EQ(d.meta.classes.size(), 3u);
  EXPECT_EQ(d.train.images.sizes().vec(), (std::vector<int64_t>{10, 3, 32, 32}));
  EXPECT_EQ(d.test.labels[0].item<int64_t>(), 1);
  EXPECT_EQ(d.train.images[2][1][0][5].item<uint8_t>(), static_cast<uint8_t>((2 * 7 + 1024 + 5) % 251));
  auto bad = records(3, 0);
  bad.resize(bad.size() - 100);
  write_bytes(dir / "test_batch.bin", bad, false);
  const auto msg = error_of([&] { import_cifar(dir.string()); });
  EXPECT_NE(msg.find("test_batch.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a whole number"), std::string::npos) << msg;
}

// A small real store for task tests: 40 train / 20 test images of 4 classes.
std::string small_store() {
  const auto path = (fresh_dir("small") / "small.h5").string();
  StoreMeta meta{"small", "test", {"a", "b", "c", "d"}, {0.5}, {0.25}};
  auto make = [](int n) {
    SplitData s{at::randint(0, 256, {n, 1, 6, 6}, at::kLong).to(at::kByte), at::arange(n, at::kLong) % 4};
    return s;
  };
  write_task_store(path, meta, make(40), make(20));
  return path;
}

TEST(Tasks, SubsetsRelabelAndTransformsApply) {
  const auto path = small_store();
  auto store = std::make_shared<const TaskStore>(path);
  TaskDef def;
  def.name = "sub";
  def.dataset = path;
  def.classes = {"c", "a"};
  def.transform = "rotate90";
  const Task task(def, store);
  EXPECT_EQ(task.num_classes(), 2);
  EXPECT_EQ(task.size(Split::Train), 20);
  const auto b = task.load(Split::Train, {0, 1});
  // Task position 0 is store image 0 (class a -> label 1), position 1 is image 2 (class c -> label 0).
  EXPECT_TRUE(at::equal(b.labels, at::tensor({1, 0}, at::kLong)));
  const auto raw = store->read_images(Split::Train, 2, 1);
  const auto expected = (at::rot90(raw, 1, {2, 3}).to(at::kFloat) / 255.0 - 0.5) / 0.25;
  EXPECT_TRUE(at::allclose(b.inputs[1], expected[0]));
  def.classes = {"a", "zebra"};
  const auto msg = error_of([&] { Task(def, store); });
  EXPECT_NE(msg.find("unknown class 'zebra'"), std::string::npos) << msg;
}

TEST(Tasks, AugmentationIsAPureFunctionOfItsSeed) {
  const auto path = small_store();
  TaskDef def;
  def.name = "aug";
  def.dataset = path;
  def.flip = true;
  def.crop_padding = 2;
  const Task task(def, std::make_shared<const TaskStore>(path));
  const std::vector<uint64_t> seeds = {1, 2, 3, 4};
  const auto a = task.load(Split::Train, {0, 1, 2, 3}, &seeds);
  const auto b = task.load(Split::Train, {0, 1, 2, 3}, &seeds);
  EXPECT_TRUE(at::equal(a.inputs, b.inputs));
  const auto plain = task.load(Split::Train, {0, 1, 2, 3});
  EXPECT_FALSE(at::equal(a.inputs, plain.inputs));
}

TEST(Tasks, SuiteFilesAreValidated) {
  const auto dir = fresh_dir("suite");
  auto suite = [&](const std::string& text) {
    std::ofstream(dir / "s.yaml") << text;
    return error_of([&] { load_task_suite((dir / "s.yaml").string()); });
  };
  EXPECT_EQ(suite("tasks:\n  - {name: a, dataset: x.h5}\n"), "");
  EXPECT_NE(suite("tasks:\n  - {name: a, dataset: x.h5, clases: [1]}\n").find("did you mean 'classes'"), std::string::npos);
  EXPECT_NE(suite("tasks:\n  - {name: a, dataset: x.h5}\n  - {name: a, dataset: y.h5}\n").find("duplicate"),
            std::string::npos);
  EXPECT_NE(suite("tasks:\n  - {name: a, dataset: x.h5, transform: blur}\n").find("key 'transform'"), std::string::npos);
  EXPECT_NE(suite("tasks:\n  - {name: a}\n").find("missing key 'dataset'"), std::string::npos);
  const auto defs = load_task_suite("configs/tasks/fmnist_suite.yaml");
  int heldout = 0;
  for (const auto& d : defs) heldout += d.heldout;
  EXPECT_GE(heldout, 1);
  EXPECT_GE(defs.size(), 4u);
}

TEST(Sharding, DisjointAndCoveringForOneToEightRanks) {
  for (int64_t n : {1, 7, 100, 1001}) {
    const auto order = epoch_order(n, 42, 3, 5);
    EXPECT_EQ(std::set<int64_t>(order.begin(), order.end()).size(), static_cast<size_t>(n));  // a permutation
    EXPECT_EQ(order, epoch_order(n, 42, 3, 5));                                               // pure
    for (int64_t world = 1; world <= 8; ++world) {
      std::set<int64_t> seen;
      size_t total = 0;
      for (int64_t r = 0; r < world; ++r) {
        const auto s = shard(order, r, world);
        total += s.size();
        seen.insert(s.begin(), s.end());
        EXPECT_LE(s.size(), static_cast<size_t>((n + world - 1) / world));
      }
      EXPECT_EQ(total, static_cast<size_t>(n)) << "n " << n << " world " << world;  // disjoint ...
      EXPECT_EQ(seen.size(), static_cast<size_t>(n));                                // ... and covering
    }
  }
  EXPECT_NE(epoch_order(100, 42, 3, 5), epoch_order(100, 42, 3, 6));
}

TEST(TaskSampler, FrequenciesMatchTemperedSizes) {
  const std::vector<int64_t> sizes = {30000, 18000, 6000, 1200};
  const double temperature = 2.0;
  TaskSampler sampler(sizes, temperature, 7);
  const int draws = 40000;
  std::vector<int> counts(sizes.size());
  for (int s = 0; s < draws; ++s) counts[static_cast<size_t>(sampler.task_at(s))]++;
  double z = 0;
  for (auto n : sizes) z += std::sqrt(n / 55200.0);
  for (size_t t = 0; t < sizes.size(); ++t) {
    const double p = std::sqrt(sizes[t] / 55200.0) / z;
    EXPECT_NEAR(sampler.probabilities()[t], p, 1e-12);
    // Binomial standard error; 4 sigma keeps a fixed-seed test meaningful and stable.
    const double sigma = std::sqrt(p * (1 - p) / draws);
    EXPECT_NEAR(counts[t] / static_cast<double>(draws), p, 4 * sigma) << "task " << t;
  }
}

TEST(TaskSampler, SaveAndRestoreContinueTheIdenticalStream) {
  TaskSampler a({100, 50, 25}, 2.0, 3);
  std::vector<std::pair<int64_t, int64_t>> straight;
  for (int s = 0; s < 50; ++s) {
    const auto t = a.task_at(s);
    straight.emplace_back(t, a.claim(t, 8));
  }
  TaskSampler b({100, 50, 25}, 2.0, 3);
  for (int s = 0; s < 20; ++s) b.claim(b.task_at(s), 8);
  const auto saved = b.cursors();
  TaskSampler c({100, 50, 25}, 2.0, 3);
  c.restore(saved);
  for (int s = 20; s < 50; ++s) {
    const auto t = c.task_at(s);
    EXPECT_EQ(std::make_pair(t, c.claim(t, 8)), straight[static_cast<size_t>(s)]);
  }
  EXPECT_THROW(c.restore({1, 2}), Error);
}

TEST(Prefetcher, DeliversItemsInOrder) {
  Prefetcher<int64_t> p([](int64_t i) { return i * i; }, 10);
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(p.get(i), i * i);
  EXPECT_EQ(p.get(3), 9);  // out-of-order access still works
}

}  // namespace
}  // namespace tal
