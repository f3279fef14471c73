#include "tests/fuzz/targets.h"

#include <jpeglib.h>
#include <png.h>
#include <unistd.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "base/error.h"
#include "datasets/bpe_tokenizer.h"
#include "datasets/image_decode.h"
#include "datasets/importers.h"
#include "datasets/task_store.h"
#include "datasets/tasks.h"
#include "datasets/text_importers.h"
#include "datasets/text_store.h"
#include "hypernet/arch_spec.h"
#include "hypernet/targets.h"
#include "trainer/config/command_line.h"
#include "trainer/config/commands.h"
#include "trainer/files/ancestry_file.h"
#include "trainer/files/archive.h"
#include "trainer/files/checkpoint.h"
#include "trainer/files/finetune_results.h"
#include "trainer/files/metrics_log.h"
#include "trainer/files/safetensors.h"
#include "trainer/files/task_embeddings_file.h"
#include "trainer/files/zoo_file.h"

namespace tal::fuzz {
namespace {
namespace fs = std::filesystem;

// ---- the scratch folder an input's files are written to (one per process, removed at exit) ----

const fs::path& scratch() {
  static const fs::path dir = [] {
    const auto base = fs::temp_directory_path() / ("tal-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(base);
    ::setenv("TAL_REHEARSAL_STDERR", (base / "rehearsal.log").c_str(), 1);
    std::atexit([] { std::error_code ec; fs::remove_all(scratch(), ec); });
    return base;
  }();
  return dir;
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "tal-fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

// A fresh empty folder for one input's files.
fs::path fresh_dir() {
  const auto dir = scratch() / "in";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  return dir;
}

// Each input under a name of its own, so a reader's once-per-file rehearsal (datasets/h5_check.h) never takes one
// input for the last.
std::string input_file(const uint8_t* data, size_t size, const std::string& name) {
  static uint64_t count = 0;
  const auto path = fresh_dir() / (std::to_string(++count) + "-" + name);
  write_file(path, std::string(reinterpret_cast<const char*>(data), size));
  return path.string();
}

std::vector<std::string> split_parts(const uint8_t* data, size_t size) {
  const std::string all(reinterpret_cast<const char*>(data), size), sep = kPartSeparator;
  std::vector<std::string> parts;
  size_t from = 0;
  for (size_t at; (at = all.find(sep, from)) != std::string::npos; from = at + sep.size())
    parts.push_back(all.substr(from, at - from));
  parts.push_back(all.substr(from));
  return parts;
}

std::string join_parts(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? kPartSeparator : "") + parts[i];
  return out;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Seeds: files the project's own writers make, moved into the corpus folder under a plain name.
void keep_seed(const std::string& made, const std::string& dir, const std::string& name) {
  fs::create_directories(dir);
  fs::copy_file(made, fs::path(dir) / name, fs::copy_options::overwrite_existing);
}
void seed_bytes(const std::string& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  write_file(fs::path(dir) / name, bytes);
}
std::string seed_scratch(const std::string& name) {
  const auto d = scratch() / "seeds";
  fs::create_directories(d);
  return (d / name).string();
}

const ArchSpec& tiny_vit() {
  static const ArchSpec spec = ArchSpec::parse("vit:depth=1,width=8,heads=2,patch=3,image=6,channels=1,classes=4");
  return spec;
}
const ArchSpec& tiny_gpt2() {
  static const ArchSpec spec = ArchSpec::parse("gpt2:depth=1,width=8,heads=2,vocab=64,context=8,classes=0");
  return spec;
}

// Touches every tensor a reader returned, so a lazily wrong shape or dtype shows here rather than later.
void touch(const at::Tensor& t) {
  if (t.defined() && t.numel() > 0) (void)t.reshape({-1}).slice(0, 0, 4).sum().item<double>();
}

// ---- task and text stores ----

void run_task_store(const uint8_t* d, size_t n) {
  const auto path = input_file(d, n, "store.h5");
  for (const int64_t memory_limit : {TaskStore::kDefaultMemoryLimit, int64_t{0}}) {  // resident, then streamed
    const TaskStore store(path, memory_limit);
    for (const Split s : {Split::Train, Split::Test}) {
      touch(store.labels(s));
      const int64_t size = store.size(s);
      if (size == 0) continue;
      touch(store.read_images(s, 0, std::min<int64_t>(size, 3)));
      touch(store.gather_images(s, {size - 1, 0}));
    }
  }
}
void seeds_task_store(const std::string& dir) {
  auto make = [](int64_t n, int64_t c) {
    return SplitData{at::randint(0, 256, {n, c, 6, 6}, at::kLong).to(at::kByte), at::arange(n, at::kLong) % 3};
  };
  at::manual_seed(1);
  const auto a = seed_scratch("store-a.h5"), b = seed_scratch("store-b.h5");
  write_task_store(a, StoreMeta{"small", "fuzz seed", {"a", "b", "c"}, {0.5}, {0.25}}, make(12, 1), make(6, 1));
  write_task_store(b, StoreMeta{"rgb", "fuzz seed", {"x", "y", "z"}, {0.5, 0.4, 0.3}, {0.2, 0.2, 0.2}}, make(5, 3),
                   make(3, 3));
  keep_seed(a, dir, "gray.h5");
  keep_seed(b, dir, "rgb.h5");
}

void run_text_store(const uint8_t* d, size_t n) {
  const TextStore store(input_file(d, n, "text.h5"));
  for (const Split s : {Split::Train, Split::Test}) {
    touch(store.split(s).tokens);
    touch(store.split(s).lengths);
    touch(store.split(s).labels);
  }
  store.require_tokenizer(store.meta().tokenizer, "fuzz");
}
void seeds_text_store(const std::string& dir) {
  TextSplit split;
  split.tokens = at::randint(0, 60, {6, 5}, at::kInt);
  split.lengths = at::full({6}, 5, at::kInt);
  split.lengths[1] = 2;
  split.tokens[1].narrow(0, 2, 3).fill_(50256);
  split.labels = at::arange(6, at::kLong) % 2;
  const auto p = seed_scratch("text.h5");
  write_text_store(p, TextStoreMeta{"t", "fuzz seed", {"a", "b"}, "gpt2-bpe:fuzz", 50257}, split, split);
  keep_seed(p, dir, "text.h5");
}

// ---- trainer files ----

void run_checkpoint(const uint8_t* d, size_t n) {
  const auto c = read_checkpoint(input_file(d, n, "step.h5"));
  for (const auto* list : {&c.weights, &c.exp_avg, &c.exp_avg_sq, &c.ema})
    for (const auto& [name, t] : *list) touch(t);
  for (const auto& r : c.rng) touch(r);
}
void seeds_checkpoint(const std::string& dir) {
  Checkpoint c;
  c.state.step = 3;
  c.state.cursors = {24, 3};
  c.weights = {{"a.weight", at::full({2, 2}, 1.5f)}, {"b", at::ones({3})}};
  c.exp_avg = {{"a.weight", at::zeros({2, 2})}, {"b", at::zeros({3})}};
  c.exp_avg_sq = c.exp_avg;
  c.ema = c.weights;
  c.config_yaml = "run:\n  seed: 1\n";
  c.hypernet_variant = "tal";
  c.hypernet_describe = "tal fuzz seed";
  c.rng = {at::arange(10, at::kByte), at::arange(10, at::kByte)};
  c.world = 2;
  keep_seed(write_checkpoint(seed_scratch("run"), c, {}), dir, "hypernet.h5");
  c.model = "ancestry";
  c.ema.clear();
  c.base_hash = "";
  keep_seed(write_checkpoint(seed_scratch("anc-run"), c, {}), dir, "ancestry.h5");
}

void run_archive(const uint8_t* d, size_t n) {
  const auto path = input_file(d, n, "archive.h5");
  int read = 0;
  for (const auto& task : archive_tasks(path))
    for (const auto& arch : archive_models(path, task)) {
      const auto m = read_archive_model(path, task, arch);
      for (const auto& [name, t] : m.params) touch(t);
      if (++read == 4) return;
    }
}
void seeds_archive(const std::string& dir) {
  ArchiveModel m;
  m.task = "fmnist-footwear";
  m.spec = tiny_vit();
  m.arch_id = m.spec.id();
  m.params = init_params(m.spec, 1);
  m.task_def.name = m.task;
  m.task_def.dataset = "fmnist.h5";
  m.task_def.classes = {"Sandal", "Sneaker", "Ankle boot", "Bag"};
  m.classes = m.task_def.classes;
  m.checkpoint_step = 7;
  m.checkpoint_hash = "abc";
  m.hypernet_variant = "tal";
  ArchiveModel lm;
  lm.task = "lm";
  lm.spec = tiny_gpt2();
  lm.arch_id = lm.spec.id();
  lm.params = init_params(lm.spec, 2);
  lm.task_def.name = "lm";
  lm.task_def.dataset = "text.h5";
  lm.task_def.max_length = 8;
  lm.task_def.pack = true;
  const auto p = seed_scratch("archive.h5");
  append_to_archive(p, {m, lm});
  keep_seed(p, dir, "archive.h5");
}

void run_ancestry(const uint8_t* d, size_t n) {
  const auto a = load_ancestry(input_file(d, n, "ancestry.h5"));
  for (const auto& [name, t] : a.params) touch(t);
}
void seeds_ancestry(const std::string& dir) {
  AncestryModel a;
  a.spec = tiny_vit();
  a.params = init_params(a.spec, 3);
  a.content_hash = params_hash(a.params);
  a.test_accuracy = 0.5;
  a.classes = {"a", "b", "c", "d"};
  const auto p = seed_scratch("ancestry.h5");
  save_ancestry(p, a, "small.h5");
  keep_seed(p, dir, "ancestry.h5");
}

void run_embeddings(const uint8_t* d, size_t n) {
  for (const auto& [task, e] : read_task_embeddings(input_file(d, n, "emb.h5"))) touch(e.embedding);
}
void seeds_embeddings(const std::string& dir) {
  const auto p = seed_scratch("emb.h5");
  write_task_embeddings(p, {{"a", StoredEmbedding{at::randn({8}), "taskhash-a", "anc", 0}},
                            {"b", StoredEmbedding{at::randn({8}), "taskhash-b", "anc", 5}}});
  keep_seed(p, dir, "emb.h5");
}

void run_zoo(const uint8_t* d, size_t n) { (void)read_zoo_file(input_file(d, n, "zoo.h5")); }
void seeds_zoo(const std::string& dir) {
  const auto p = seed_scratch("zoo.h5");
  write_zoo_file(p, ZooFile{"vit", "vits-1k", "paper", 4,
                            {ArchSpec::parse("vit:depth=2,width=64,heads=2"), ArchSpec::parse("vit:depth=3,width=96,heads=3")}});
  keep_seed(p, dir, "zoo.h5");
}

void run_finetune_results(const uint8_t* d, size_t n) {
  (void)read_finetune_results(input_file(d, n, "finetune.h5"));
}
void seeds_finetune_results(const std::string& dir) {
  FinetuneResults r;
  r.recipe = "steps=4";
  r.config_yaml = "finetune:\n  steps: 4\n";
  r.inits = {{"tal", "ckpt.h5", "h1", 3, 1000, 1.5}, {"random", "", "", 0, 0, 0.1}};
  for (const char* init : {"tal", "random"})
    for (int64_t seed = 0; seed < 2; ++seed) {
      FinetuneCell c;
      c.key = std::string(init) + std::to_string(seed);
      c.task = "fmnist-footwear";
      c.arch = c.spec = tiny_vit().str();
      c.arch_id = tiny_vit().id();
      c.init = init;
      c.seed = seed;
      c.lr = 1e-3;
      c.params = c.trainable = c.stored = 100;
      c.method = seed ? "lora:r=4" : "full";
      c.eval_steps = {0, 2, 4};
      c.accuracy = {0.25, 0.5, 0.75};
      c.mcc = {0.0, 0.3, 0.6};
      c.loss = {1.5, 1.2, 1.0, 0.8};
      c.val_accuracy = 0.7;
      c.val_mcc = 0.5;
      c.seconds = 1;
      r.cells.push_back(c);
    }
  compute_steps_to(r);
  const auto p = seed_scratch("finetune.h5");
  write_finetune_results(p, r);
  keep_seed(p, dir, "finetune.h5");
}

void run_metrics(const uint8_t* d, size_t n) { (void)read_metrics_losses(input_file(d, n, "metrics.jsonl")); }
void seeds_metrics(const std::string& dir) {
  seed_bytes(dir, "metrics.jsonl",
             "{\"stage\":\"pretrain\",\"step\":1,\"loss\":2.5,\"lr\":0.001,\"seconds\":0.25}\n"
             "{\"stage\":\"pretrain\",\"step\":2,\"loss\":null}\n"
             "{\"stage\":\"multitask\",\"step\":3,\"loss\":1.25,\"task\":\"fmnist-footwear\"}\n"
             "{\"event\":\"checkpoint\",\"step\":3,\"path\":\"ckpt/step_000003.h5\"}\n");
}

// ---- configs: a YAML file and command-line overrides (one per line) for a command ----

void run_config(const uint8_t* d, size_t n) {
  static const char* const commands[] = {"train", "finetune", "ancestry train", "predict", "tasks embed"};
  const auto parts = split_parts(d, n);
  const std::string command = commands[(n ? d[0] : 0) % 5];
  const auto path = (fresh_dir() / "config.yaml").string();
  write_file(path, parts[0]);
  std::vector<std::string> args = {"--config", path};
  if (parts.size() > 1) {  // (not another --config: this target reads the one above)
    std::string line;
    for (std::istringstream in(parts[1]); std::getline(in, line);)
      if (!line.empty() && line.rfind("--config", 0) != 0) args.push_back(line);
  }
  const auto table = command_table(command);
  const auto cl = parse_command_line(table, args);
  (void)resolve_options(table, cl);
}
void seeds_config(const std::string& dir) {
  const char* source = std::getenv("TAL_SOURCE_DIR");
  const fs::path configs = fs::path(source ? source : ".") / "configs";
  int kept = 0;
  if (fs::is_directory(configs))
    for (const auto& e : fs::directory_iterator(configs))
      if (e.path().extension() == ".yaml" && kept < 6) {
        seed_bytes(dir, "config-" + std::to_string(kept++) + ".yaml",
                   join_parts({read_bytes(e.path().string()), "train.steps=10\nrun.seed=3\n--threads=1\n"}));
      }
  seed_bytes(dir, "anchors.yaml",
             join_parts({"defaults: &d\n  seed: 1\nrun:\n  <<: *d\n  dir: runs/x\ntrain:\n  lr: 1e-3\n  steps: 20\n"
                         "finetune:\n  lr: [3e-4, 1e-3]\n  methods: [full, \"lora:r=4\"]\n",
                         "finetune.seeds=2\n"}));
}

void run_task_suite(const uint8_t* d, size_t n) { (void)load_task_suite(input_file(d, n, "tasks.yaml")); }
void seeds_task_suite(const std::string& dir) {
  seed_bytes(dir, "suite.yaml",
             "tasks:\n  - name: fmnist-footwear\n    dataset: fmnist.h5\n    classes: [Sandal, Sneaker, \"Ankle boot\"]\n"
             "  - name: fmnist-bags-rot\n    dataset: fmnist.h5\n    classes: [Bag, 0]\n    transform: rotate180\n"
             "    heldout: true\n    flip: true\n    crop_padding: 2\n"
             "  - name: lm\n    dataset: text.h5\n    max_length: 32\n    pack: true\n  - name: cola\n"
             "    dataset: cola.h5\n    metric: mcc\n");
}

// ---- importers ----

// Parts: train images, train labels, test images, test labels; a part starting with gzip's magic is named .gz.
void run_idx(const uint8_t* d, size_t n) {
  const auto parts = split_parts(d, n);
  const auto dir = fresh_dir();
  const char* stems[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                         "t10k-labels-idx1-ubyte"};
  for (size_t i = 0; i < std::min<size_t>(4, parts.size()); ++i) {
    const bool gz = parts[i].size() >= 2 && parts[i][0] == '\x1f' && parts[i][1] == '\x8b';
    write_file(dir / (std::string(stems[i]) + (gz ? ".gz" : "")), parts[i]);
  }
  const auto data = import_fashion_mnist(dir.string());
  touch(data.train.images);
  touch(data.test.labels);
}
std::string idx_images(uint32_t count, uint32_t side) {
  std::string b = {0, 0, 8, 3};
  for (const uint32_t v : {count, side, side})
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<char>((v >> s) & 0xff));
  for (uint32_t i = 0; i < count * side * side; ++i) b.push_back(static_cast<char>(i * 37));
  return b;
}
std::string idx_labels(uint32_t count) {
  std::string b = {0, 0, 8, 1};
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<char>((count >> s) & 0xff));
  for (uint32_t i = 0; i < count; ++i) b.push_back(static_cast<char>(i % 10));
  return b;
}
void seeds_idx(const std::string& dir) {
  seed_bytes(dir, "fmnist.idx", join_parts({idx_images(4, 3), idx_labels(4), idx_images(2, 3), idx_labels(2)}));
}

// Parts: data_batch_1.bin, test_batch.bin, batches.meta.txt (CIFAR-10); with a fourth part, CIFAR-100's
// train.bin, test.bin, fine_label_names.txt instead.
void run_cifar(const uint8_t* d, size_t n) {
  const auto parts = split_parts(d, n);
  const auto dir = fresh_dir();
  const bool hundred = parts.size() >= 4;
  const char* names10[] = {"data_batch_1.bin", "test_batch.bin", "batches.meta.txt"};
  const char* names100[] = {"train.bin", "test.bin", "fine_label_names.txt"};
  for (size_t i = 0; i < std::min<size_t>(3, parts.size()); ++i)
    write_file(dir / (hundred ? names100[i] : names10[i]), parts[i]);
  const auto data = import_cifar(dir.string());
  touch(data.train.images);
  touch(data.test.labels);
}
std::string cifar_records(int n, int label_bytes) {
  std::string b;
  for (int r = 0; r < n; ++r) {
    for (int l = 0; l < label_bytes; ++l) b.push_back(static_cast<char>(r % 3));
    for (int i = 0; i < 3072; ++i) b.push_back(static_cast<char>((i * 7 + r) & 0xff));
  }
  return b;
}
void seeds_cifar(const std::string& dir) {
  seed_bytes(dir, "cifar10.bin", join_parts({cifar_records(2, 1), cifar_records(1, 1), "cat\ndog\nbird\n"}));
  seed_bytes(dir, "cifar100.bin", join_parts({cifar_records(2, 2), cifar_records(1, 2), "apple\npear\nplum\n", ""}));
}

// One image file, named by its magic (.png, else .jpg), decoded and resized.
void run_image(const uint8_t* d, size_t n) {
  const bool png = n >= 4 && d[0] == 0x89 && d[1] == 'P' && d[2] == 'N' && d[3] == 'G';
  const auto image = decode_image(input_file(d, n, png ? "image.png" : "image.jpg"));
  touch(resize_square(image, 8));
}
void seeds_image(const std::string& dir) {
  fs::create_directories(dir);
  {  // a PNG, RGB
    png_image img;
    std::memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = 5;
    img.height = 4;
    img.format = PNG_FORMAT_RGB;
    std::vector<uint8_t> px(5 * 4 * 3);
    for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i * 11);
    if (!png_image_write_to_file(&img, (fs::path(dir) / "rgb.png").c_str(), 0, px.data(), 0, nullptr)) std::abort();
    img.format = PNG_FORMAT_GRAY;
    if (!png_image_write_to_file(&img, (fs::path(dir) / "gray.png").c_str(), 0, px.data(), 0, nullptr)) std::abort();
  }
  for (const int components : {3, 1}) {  // a JPEG, colour and gray
    const auto path = fs::path(dir) / (components == 3 ? "rgb.jpg" : "gray.jpg");
    jpeg_compress_struct c;
    jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) std::abort();
    jpeg_stdio_dest(&c, f);
    c.image_width = 6;
    c.image_height = 5;
    c.input_components = components;
    c.in_color_space = components == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    std::vector<uint8_t> row(6 * components);
    for (int y = 0; y < 5; ++y) {
      for (size_t i = 0; i < row.size(); ++i) row[i] = static_cast<uint8_t>(y * 40 + i * 9);
      JSAMPROW r = row.data();
      jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    std::fclose(f);
  }
}

// A CSV (first byte even) or TSV table with a header row: text column "text", label column "label".
void run_text_table(const uint8_t* d, size_t n) {
  const bool tsv = n > 0 && (d[0] & 1);
  const auto path = input_file(d, n, tsv ? "table.tsv" : "table.csv");
  TableColumns columns;
  columns.text = {"text"};
  columns.label = "label";
  (void)import_text_table(path, columns, "", 3);
  (void)parse_table(read_bytes(path), tsv ? '\t' : ',', path);
}
void seeds_text_table(const std::string& dir) {
  seed_bytes(dir, "a.csv", "text,label\n\"a \"\"quoted\"\", line\",1\nplain words,0\nmore,1\nand more,0\n");
  seed_bytes(dir, "b.tsv", "\tid\ttext\tlabel\n0\tone sentence\tyes\n1\tanother\tno\n2\tthird\tyes\n");
}

// ---- the tokenizer: any bytes encode, and decode back to exactly those bytes ----

const BpeTokenizer& tokenizer() {
  static const BpeTokenizer t(default_tokenizer_dir());
  return t;
}
void run_bpe(const uint8_t* d, size_t n) {
  const std::string text(reinterpret_cast<const char*>(d), n);
  const auto ids = tokenizer().encode(text);
  for (const auto id : ids)
    if (id < 0 || id >= tokenizer().vocab_size()) {
      std::fprintf(stderr, "tal-fuzz: bpe: id %d outside the vocabulary\n", id);
      std::abort();
    }
  if (tokenizer().decode(ids) != text) {
    std::fprintf(stderr, "tal-fuzz: bpe: decode(encode(x)) != x for %zu bytes\n", n);
    std::abort();
  }
}
void seeds_bpe(const std::string& dir) {
  seed_bytes(dir, "ascii.txt", "Hello world! It's 2026, isn't it?  Numbers 12345 and\ttabs\n");
  seed_bytes(dir, "utf8.txt", "caf\xc3\xa9 \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 na\xc3\xafve");
  static const char raw[] = "\xff\xfe\x00\x80 bad \xc3";
  seed_bytes(dir, "bytes.bin", std::string(raw, sizeof raw - 1));
}

// ---- safetensors: the reader on any bytes, and what it read written again reads back the same ----

void run_safetensors(const uint8_t* d, size_t n) {
  const std::string bytes(reinterpret_cast<const char*>(d), n);
  const auto file = parse_safetensors(bytes, "input.safetensors");
  std::vector<std::pair<std::string, at::Tensor>> tensors(file.tensors.begin(), file.tensors.end());
  for (auto& [name, t] : tensors) touch(t);
  const auto again = parse_safetensors(safetensors_bytes(tensors, file.metadata), "rewritten.safetensors");
  bool same = again.metadata == file.metadata && again.tensors.size() == file.tensors.size();
  for (const auto& [name, t] : file.tensors) {
    const auto it = again.tensors.find(name);
    same = same && it != again.tensors.end() && it->second.scalar_type() == t.scalar_type() &&
           it->second.sizes() == t.sizes() &&
           (t.numel() == 0 || std::memcmp(it->second.contiguous().data_ptr(), t.contiguous().data_ptr(),
                                          t.numel() * t.element_size()) == 0);
  }
  if (!same) {
    std::fprintf(stderr, "tal-fuzz: safetensors: a file read, written and read again differs\n");
    std::abort();
  }
}
void seeds_safetensors(const std::string& dir) {
  seed_bytes(dir, "mixed.safetensors",
             safetensors_bytes({{"w", at::randn({2, 3})},
                                {"ids", at::arange(4, at::kLong)},
                                {"half", at::ones({3}, at::kHalf)},
                                {"bytes", at::arange(5, at::kByte)},
                                {"empty", at::zeros({0, 2})}},
                               {{"format", "pt"}, {"note", "fuzz seed"}}));
  const auto params = init_params(tiny_gpt2(), 4);
  seed_bytes(dir, "gpt2.safetensors",
             safetensors_bytes(std::vector<std::pair<std::string, at::Tensor>>(params.begin(), params.end()), {}));
}

// A rehearsal refuses a file whose reading crashed the child (datasets/h5_check.h). That is the guard for HDF5's own
// crashes; a sanitizer report whose first frame outside the sanitizer runtime is not in libhdf5 (or any UBSan
// "runtime error") is TAL's bug, hidden by the guard: returned here ("" when there is none).
std::string tal_code_in_report(const std::string& log) {
  if (log.empty()) return "";
  std::istringstream in(log);
  std::string line;
  bool asan = false;
  while (std::getline(in, line)) {
    if (line.find("runtime error:") != std::string::npos) return line;
    if (line.find("ERROR: AddressSanitizer") != std::string::npos || line.find("ERROR: LeakSanitizer") != std::string::npos)
      asan = true;
    const auto hash = line.find('#');
    if (!asan || hash == std::string::npos || line.find(" in ", hash) == std::string::npos) continue;
    static const char* const runtime[] = {"__asan", "__interceptor", "__sanitizer", " in memcpy", " in memmove",
                                          " in memset", " in strlen", " in malloc", " in calloc", " in realloc",
                                          " in free", "libc.so"};
    if (std::any_of(std::begin(runtime), std::end(runtime), [&](const char* r) { return line.find(r) != std::string::npos; }))
      continue;
    return line.find("libhdf5") != std::string::npos ? "" : line;
  }
  return "";
}

}  // namespace

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {
      {"task-store", "TaskStore (resident and streamed)", run_task_store, seeds_task_store},
      {"text-store", "TextStore", run_text_store, seeds_text_store},
      {"checkpoint", "read_checkpoint", run_checkpoint, seeds_checkpoint},
      {"archive", "archive_tasks, archive_models, read_archive_model", run_archive, seeds_archive},
      {"ancestry", "load_ancestry", run_ancestry, seeds_ancestry},
      {"embeddings", "read_task_embeddings", run_embeddings, seeds_embeddings},
      {"zoo", "read_zoo_file", run_zoo, seeds_zoo},
      {"finetune-results", "read_finetune_results (finetune.h5)", run_finetune_results, seeds_finetune_results},
      {"metrics", "read_metrics_losses (metrics.jsonl)", run_metrics, seeds_metrics},
      {"config", "a command's options from a YAML file and overrides", run_config, seeds_config},
      {"task-suite", "load_task_suite", run_task_suite, seeds_task_suite},
      {"idx", "import_fashion_mnist (IDX, gzip)", run_idx, seeds_idx},
      {"cifar", "import_cifar (CIFAR-10 and -100 binaries)", run_cifar, seeds_cifar},
      {"image", "decode_image and resize_square (PNG, JPEG)", run_image, seeds_image},
      {"text-table", "import_text_table and parse_table (CSV, TSV)", run_text_table, seeds_text_table},
      {"bpe", "BpeTokenizer::encode/decode round trip", run_bpe, seeds_bpe},
      {"safetensors", "parse_safetensors and the writer's round trip", run_safetensors, seeds_safetensors},
  };
  return all;
}

const Target* find_target(const std::string& name) {
  for (const auto& t : targets())
    if (name == t.name) return &t;
  return nullptr;
}

void run_checked(const Target& target, const uint8_t* data, size_t size) {
  std::string broke;
  const auto rehearsal_log = scratch() / "rehearsal.log";
  std::error_code ec;
  fs::remove(rehearsal_log, ec);
  try {
    target.run(data, size);
    return;
  } catch (const Error& e) {
    // A refusal, naming what it read (the scratch folder holds every file a target writes; the
    // tokenizer and safetensors targets read bytes, named in their messages by the names passed in).
    const std::string m = e.what();
    const bool names_input = m.find(scratch().string()) != std::string::npos ||
                             m.find("input.safetensors") != std::string::npos ||
                             m.find("rewritten.safetensors") != std::string::npos || m.find("command line") == 0;
    const std::string report = tal_code_in_report(read_bytes(rehearsal_log.string()));
    if (names_input && report.empty()) return;  // (tal's main folds a message onto one line)
    broke = names_input ? "the rehearsing child's sanitizer report points at TAL's code: " + report
                        : "a refusal that names no file: " + m;
  } catch (const std::bad_alloc&) {
    broke = "std::bad_alloc (a declared size trusted?)";
  } catch (const std::exception& e) {
    broke = std::string("an exception other than tal::Error: ") + e.what();
  }
  std::fprintf(stderr, "tal-fuzz: %s: %s\n", target.name, broke.substr(0, 2000).c_str());
  std::abort();
}

}  // namespace tal::fuzz
