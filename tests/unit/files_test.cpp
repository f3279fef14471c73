// The file formats of trainer/files: checkpoints (latest pointer, retention, round trip, refusal of other files),
// task-embedding files, task embeddings computed from an ancestry model, archives' task definitions, and
// safetensors exports.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "base/error.h"
#include "datasets/h5.h"
#include "datasets/task_store.h"
#include "hypernet/targets.h"
#include "tests/test_util.h"
#include "trainer/files/ancestry_file.h"
#include "trainer/files/archive.h"
#include "trainer/files/checkpoint.h"
#include "trainer/files/metrics_log.h"
#include "trainer/files/safetensors.h"
#include "hypernet/family.h"
#include "trainer/files/task_embeddings_file.h"
#include "trainer/files/zoo_file.h"
#include "trainer/train/task_embedding.h"

namespace tal {
namespace {
namespace fs = std::filesystem;

using test::error_of;

Checkpoint tiny_checkpoint(int64_t step) {
  Checkpoint c;
  c.state.step = step;
  c.state.cursors = {step * 8, 3};
  c.weights = {{"a.weight", at::full({2, 2}, static_cast<float>(step))}, {"b", at::ones({3})}};
  c.exp_avg = {{"a.weight", at::zeros({2, 2})}, {"b", at::zeros({3})}};
  c.exp_avg_sq = c.exp_avg;
  c.config_yaml = "run:\n  seed: 1\n";
  c.hypernet_variant = "logah";
  c.hypernet_describe = "logah test";
  c.rng = {at::arange(10, at::kByte)};
  return c;
}

TEST(Checkpoints, LatestRetentionAndRoundTrip) {
  const test::TempDir dir;
  const auto run = dir.path() / "run";
  EXPECT_EQ(latest_checkpoint(run.string()), "");
  int midway = 0;
  for (int64_t s = 1; s <= 10; ++s)
    write_checkpoint(run.string(), tiny_checkpoint(s), {/*keep=*/2, /*keep_every=*/4}, [&] { ++midway; });
  EXPECT_EQ(midway, 10);  // the hook runs once per write, half-way
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(checkpoint_dir(run.string()))) files.insert(e.path().filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"latest", checkpoint_name(4), checkpoint_name(8), checkpoint_name(9),
                                          checkpoint_name(10)}));
  const auto path = latest_checkpoint(run.string());
  EXPECT_EQ(fs::path(path).filename().string(), checkpoint_name(10));
  const auto c = read_checkpoint(path);
  EXPECT_EQ(c.model, "hypernet");
  EXPECT_EQ(c.state.step, 10);
  EXPECT_EQ(c.state.cursors, (std::vector<int64_t>{80, 3}));
  EXPECT_EQ(c.weights[0].first, "a.weight");  // registration order survives
  EXPECT_TRUE(at::equal(c.weights[0].second, at::full({2, 2}, 10.f)));
  EXPECT_EQ(c.config_yaml, "run:\n  seed: 1\n");
  EXPECT_TRUE(at::equal(c.rng[0], at::arange(10, at::kByte)));
  // The hypernet's weights are where h5py users (and tests/e2e/compare_checkpoints.py) look for them.
  EXPECT_TRUE(H5File(path, H5File::Mode::Read).is_dataset("/hypernet/a.weight"));
  // Another model shape is refused, naming the parameter.
  const auto msg = error_of([&] { check_compatible(path, c, {{"a.weight", at::zeros({3, 2})}, {"b", at::zeros({3})}}); });
  EXPECT_NE(msg.find("made by another hypernet"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'a.weight'"), std::string::npos) << msg;
  // An ancestry run's checkpoint keeps its weights under /ancestry and says so.
  auto a = tiny_checkpoint(3);
  a.model = "ancestry";
  const auto ap = write_checkpoint((dir.path() / "anc").string(), a, {});
  EXPECT_EQ(read_checkpoint(ap).model, "ancestry");
  EXPECT_TRUE(H5File(ap, H5File::Mode::Read).is_dataset("/ancestry/a.weight"));
}

TEST(Checkpoints, BadFilesAreRefusedWithOneLine) {
  const test::TempDir dir;
  {
    H5File f(dir.file("zoo.h5"), H5File::Mode::Truncate);
    f.set_attr("/", "kind", "tal-zoo");
  }
  EXPECT_NE(error_of([&] { read_checkpoint(dir.file("zoo.h5")); }).find("is a tal-zoo file, not a checkpoint"),
            std::string::npos);
  {
    H5File f(dir.file("future.h5"), H5File::Mode::Truncate);
    f.set_attr("/", "kind", "tal-checkpoint");
    f.set_attr("/", "format_version", int64_t{99});
  }
  EXPECT_NE(error_of([&] { read_checkpoint(dir.file("future.h5")); }).find("format version 99"), std::string::npos);
  std::ofstream(dir.file("text.h5")) << "garbage";
  EXPECT_NE(error_of([&] { read_checkpoint(dir.file("text.h5")); }).find("not an HDF5 file"), std::string::npos);
  const auto run = dir.path() / "dangling";
  fs::create_directories(checkpoint_dir(run.string()));
  std::ofstream(fs::path(checkpoint_dir(run.string())) / "latest") << "step_00000007.h5\n";
  EXPECT_THROW(latest_checkpoint(run.string()), Error);
}

TEST(ZooFile, RoundTripsSpecsAndRefusesOtherKinds) {
  const test::TempDir dir;
  ZooFile z{"vit", "vits-1k", "paper", 4,
            {ArchSpec::parse("vit:depth=2,width=64,heads=2"), ArchSpec::parse("vit:depth=3,width=96,heads=3")}};
  write_zoo_file(dir.file("zoo.h5"), z);
  const auto back = read_zoo_file(dir.file("zoo.h5"));
  EXPECT_EQ(back.rules, "vits-1k");
  EXPECT_EQ(back.seed, 4);
  ASSERT_EQ(back.specs.size(), 2u);
  EXPECT_EQ(back.specs[1], z.specs[1]);
  write_checkpoint((dir.path() / "run").string(), tiny_checkpoint(1), {});
  const auto msg = error_of([&] { read_zoo_file(latest_checkpoint((dir.path() / "run").string())); });
  EXPECT_NE(msg.find("is a tal-checkpoint file, not a zoo file"), std::string::npos) << msg;
}

// A small real store for task tests: 40 train / 20 test images of 4 classes.
std::string small_store(const test::TempDir& dir) {
  const auto path = dir.file("small.h5");
  StoreMeta meta{"small", "test", {"a", "b", "c", "d"}, {0.5}, {0.25}};
  auto make = [](int n) {
    return SplitData{at::randint(0, 256, {n, 1, 6, 6}, at::kLong).to(at::kByte), at::arange(n, at::kLong) % 4};
  };
  write_task_store(path, meta, make(40), make(20));
  return path;
}

TEST(TaskEmbeddings, RecomputedOnlyWhenTaskOrAncestryChanges) {
  const test::TempDir dir;
  const auto store_path = small_store(dir);
  AncestryModel ancestry;
  ancestry.spec = ArchSpec::parse("vit:depth=1,width=8,heads=2,patch=3,image=6,channels=1,classes=4");
  ancestry.params = init_params(ancestry.spec, 1);
  ancestry.params["heads.head.weight"].normal_();
  ancestry.content_hash = params_hash(ancestry.params);
  TaskDef a{"a", store_path, {"a", "b"}, "none", false, 0, false};
  TaskDef b{"b", store_path, {}, "invert", false, 0, false};
  auto tasks = resolve_tasks({a, b}, "/");
  const auto path = dir.file("emb.h5");
  auto r = update_task_embeddings(path, ancestry, tasks);
  EXPECT_EQ(r.computed.size(), 2u);
  r = update_task_embeddings(path, ancestry, tasks);
  EXPECT_EQ(r.reused.size(), 2u);
  auto emb = load_task_embeddings(path, tasks, ancestry.content_hash);
  // The embedding is the mean class-token feature over the task's training images.
  std::vector<int64_t> all;
  for (int64_t i = 0; i < tasks[0].size(Split::Train); ++i) all.push_back(i);
  const auto expected = target_features(ancestry.spec, ancestry.params, tasks[0].load(Split::Train, all).inputs).mean(0);
  EXPECT_TRUE(at::allclose(emb.at("a"), expected, 1e-5, 1e-6));
  EXPECT_FALSE(at::allclose(emb.at("a"), emb.at("b")));

  b.transform = "rotate90";  // task definition changed -> only b recomputed, and stale until then
  auto changed = resolve_tasks({a, b}, "/");
  auto msg = error_of([&] { load_task_embeddings(path, changed, ancestry.content_hash); });
  EXPECT_NE(msg.find("task 'b' is stale"), std::string::npos) << msg;
  r = update_task_embeddings(path, ancestry, changed);
  EXPECT_EQ(r.computed, std::vector<std::string>{"b"});
  msg = error_of([&] { load_task_embeddings(path, changed, "another-ancestry"); });
  EXPECT_NE(msg.find("another ancestry model"), std::string::npos) << msg;

  // tasks.embed_images: the mean over the first k training images, and a change of k recomputes.
  r = update_task_embeddings(path, ancestry, changed, 5);
  EXPECT_EQ(r.computed.size(), 2u);
  const auto first5 = target_features(ancestry.spec, ancestry.params, changed[0].load(Split::Train, {0, 1, 2, 3, 4}).inputs).mean(0);
  EXPECT_TRUE(at::allclose(load_task_embeddings(path, changed, "").at("a"), first5, 1e-5, 1e-6));
  EXPECT_EQ(read_task_embeddings(path).at("a").images, 5);
}

// An archived model keeps what its task was, a text task's length, corpus flag and metric included, so tal eval can
// rebuild the task from a data root; an archive written before those (no attributes) reads as it always did.
TEST(Archive, TextTaskDefinitionRoundTripsAndABadMetricIsRefused) {
  test::TempDir dir;
  ArchiveModel m;
  m.task = "lm";
  m.spec = ArchSpec::parse("gpt2:depth=1,width=8,heads=2,context=16,classes=0");
  m.arch_id = m.spec.id();
  m.params = init_params(m.spec, 1);
  m.task_def.name = "lm";
  m.task_def.dataset = "text.h5";
  m.task_def.max_length = 16;
  m.task_def.pack = true;
  const std::string path = dir.file("a.h5");
  append_to_archive(path, {m});
  auto back = read_archive_model(path, "lm", m.arch_id);
  EXPECT_EQ(back.task_def.max_length, 16);
  EXPECT_TRUE(back.task_def.pack);
  EXPECT_EQ(back.task_def.metric, "accuracy");
  EXPECT_EQ(back.task_def.hash(), m.task_def.hash());
  {
    H5File f(path, H5File::Mode::ReadWrite);
    f.set_attr("/lm/" + m.arch_id, "task_metric", "f1");
  }
  EXPECT_NE(error_of([&] { read_archive_model(path, "lm", m.arch_id); })
                .find("attribute 'task_metric': unknown 'f1' (expected accuracy or mcc)"),
            std::string::npos);
}

TEST(Safetensors, Gpt2ParametersRoundTripWithMetadataAndAlignedData) {
  test::TempDir dir;
  const auto spec = ArchSpec::parse("gpt2:depth=2,width=32,heads=4,vocab=50257,context=64");
  const auto params = spec.family().init(spec, 7);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& p : param_table(spec)) tensors.emplace_back(p.name, params.at(p.name));
  tensors.emplace_back("extra.int64", at::arange(5, at::kLong));
  write_safetensors(dir.file("m.safetensors"), tensors, {{"format", "pt"}, {"tal.spec", spec.str()}});
  const auto back = read_safetensors(dir.file("m.safetensors"));
  ASSERT_EQ(back.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    ASSERT_TRUE(back.tensors.count(name)) << name;
    EXPECT_TRUE(back.tensors.at(name).equal(t)) << name;
  }
  EXPECT_EQ(back.tensors.at("transformer.h.0.attn.c_attn.weight").sizes(), (at::IntArrayRef{32, 96}));  // [in, out]
  EXPECT_EQ(back.metadata.at("tal.spec"), spec.str());
  // The header length is a multiple of 8, so the data that follows is aligned.
  std::ifstream in(dir.file("m.safetensors"), std::ios::binary);
  unsigned char len[8];
  in.read(reinterpret_cast<char*>(len), 8);
  EXPECT_EQ(len[0] % 8, 0);
  // A truncated file names the tensor whose bytes are missing.
  const auto size = fs::file_size(dir.file("m.safetensors"));
  fs::resize_file(dir.file("m.safetensors"), size - 4);
  EXPECT_NE(error_of([&] { read_safetensors(dir.file("m.safetensors")); }).find("has a byte range that does not fit"),
            std::string::npos);
}

TEST(Safetensors, Gpt2ConfigIsHfGpt2ConfigWithAnUntiedHead) {
  const auto spec = ArchSpec::parse("gpt2:depth=3,width=64,heads=8,mlp=200,vocab=50257,context=128");
  const auto config = spec.family().library_config(spec);
  for (const char* key : {"\"n_layer\": 3", "\"n_embd\": 64", "\"n_head\": 8", "\"n_inner\": 200",
                          "\"n_positions\": 128", "\"vocab_size\": 50257", "\"tie_word_embeddings\": false",
                          "\"activation_function\": \"gelu_new\""})
    EXPECT_NE(config.find(key), std::string::npos) << key << " in " << config;
  EXPECT_EQ(ArchSpec::parse("vit:depth=2").family().library_config(ArchSpec::parse("vit:depth=2")), "");
}


// metrics.jsonl as tal train writes it: loss lines by stage, events and a non-finite (null) loss passed over; a line
// that is not a JSON object refused naming the file and line.
TEST(MetricsLog, LossesByStageAndANonObjectLineRefused) {
  const test::TempDir dir;
  const auto path = dir.file("metrics.jsonl");
  std::ofstream(path) << "{\"stage\": \"pretrain\", \"step\": 1, \"loss\": 2.5}\n"
                         "{\"stage\": \"pretrain\", \"step\": 2, \"loss\": null}\n"
                         "{\"event\": \"checkpoint\", \"step\": 2}\n\n"
                         "{\"stage\": \"multitask\", \"step\": 3, \"loss\": 1.25, \"lr\": 0.001}\n";
  const auto losses = read_metrics_losses(path);
  ASSERT_EQ(losses.size(), 2u);
  ASSERT_EQ(losses.at("pretrain").size(), 1u);
  EXPECT_EQ(losses.at("pretrain")[0].step, 1);
  EXPECT_EQ(losses.at("pretrain")[0].loss, 2.5);
  EXPECT_EQ(losses.at("multitask")[0].loss, 1.25);
  std::ofstream(path, std::ios::app) << "{\"stage\": \"pretrain\", \"step\": 4,\n";
  const auto msg = error_of([&] { read_metrics_losses(path); });
  EXPECT_NE(msg.find(path + ":6: not a JSON object line"), std::string::npos) << msg;
}

}  // namespace
}  // namespace tal
