// The evaluator: the Matthews correlation against its definition (the correlation of one-hot true and predicted
// labels), perplexity against the next-token log-likelihood computed here from the logits, counts that add up over
// shards (ranks) and do not depend on the batch size; the headline metric of the fine-tuning results file.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "datasets/h5.h"
#include "datasets/tasks.h"
#include "datasets/text_store.h"
#include "hypernet/arch_spec.h"
#include "hypernet/family.h"
#include "tests/test_util.h"
#include "trainer/files/finetune_results.h"
#include "trainer/train/evaluator.h"

namespace tal {
namespace {

using test::error_of;

// The Pearson correlation of the one-hot true and predicted labels (summed over classes), from the pairs themselves:
// the definition the confusion-matrix formula is derived from.
double mcc_by_definition(const std::vector<std::pair<int, int>>& pairs, int k) {
  const double n = static_cast<double>(pairs.size());
  std::vector<double> mean_t(k, 0), mean_p(k, 0);
  for (auto [t, p] : pairs) mean_t[t] += 1 / n, mean_p[p] += 1 / n;
  double cov_tp = 0, cov_tt = 0, cov_pp = 0;
  for (auto [t, p] : pairs)
    for (int c = 0; c < k; ++c) {
      const double x = (t == c) - mean_t[c], y = (p == c) - mean_p[c];
      cov_tp += x * y, cov_tt += x * x, cov_pp += y * y;
    }
  return cov_tp / std::sqrt(cov_tt * cov_pp);
}

at::Tensor confusion_of(const std::vector<std::pair<int, int>>& pairs, int k) {
  auto c = at::zeros({k, k}, at::kDouble);
  for (auto [t, p] : pairs) c[t][p] += 1;
  return c;
}

TEST(Mcc, BinaryByHandAndItsLimits) {
  // tn 5, fp 1, fn 2, tp 4: (4*5 - 1*2) / sqrt(5 * 6 * 6 * 7).
  const auto c = at::tensor({5.0, 1.0, 2.0, 4.0}, at::kDouble).view({2, 2});
  EXPECT_NEAR(matthews_correlation(c), 18.0 / std::sqrt(1260.0), 1e-12);
  EXPECT_NEAR(matthews_correlation(at::tensor({7.0, 0.0, 0.0, 3.0}, at::kDouble).view({2, 2})), 1.0, 1e-12);
  EXPECT_NEAR(matthews_correlation(at::tensor({0.0, 7.0, 3.0, 0.0}, at::kDouble).view({2, 2})), -1.0, 1e-12);
  // One class predicted for everything (a majority-class model): accuracy 70%, MCC 0.
  EXPECT_EQ(matthews_correlation(at::tensor({0.0, 3.0, 0.0, 7.0}, at::kDouble).view({2, 2})), 0.0);
}

TEST(Mcc, MultiClassEqualsTheCorrelationOfOneHotLabels) {
  const std::vector<std::pair<int, int>> pairs = {{0, 0}, {0, 0}, {0, 1}, {1, 1}, {1, 2}, {1, 1}, {2, 2},
                                                  {2, 0}, {2, 2}, {2, 2}, {1, 0}, {0, 2}, {2, 1}};
  EXPECT_NEAR(matthews_correlation(confusion_of(pairs, 3)), mcc_by_definition(pairs, 3), 1e-12);
  const std::vector<std::pair<int, int>> binary = {{0, 0}, {1, 1}, {1, 0}, {0, 0}, {1, 1}, {0, 1}, {1, 1}};
  EXPECT_NEAR(matthews_correlation(confusion_of(binary, 2)), mcc_by_definition(binary, 2), 1e-12);
}

// A small text store: 12 texts of 3 classes, ids < 50257, padded with <|endoftext|>.
class TextEval : public ::testing::Test {
 protected:
  void SetUp() override {
    TextSplit split;
    const int64_t n = 12, length = 8;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
    split.tokens = at::randint(0, 50000, {n, length}, gen, at::kInt);
    split.lengths = at::full({n}, length, at::kInt);
    for (int64_t i = 0; i < n; i += 3) {  // some shorter texts
      split.lengths[i] = 5;
      split.tokens[i].narrow(0, 5, length - 5).fill_(50256);
    }
    split.labels = at::arange(n, at::kLong) % 3;
    const TextStoreMeta meta{"t", "test", {"a", "b", "c"}, "gpt2-bpe:test", 50257};
    write_text_store(dir.file("t.h5"), meta, split, split);
  }
  Task task(bool pack) const {
    TaskDef def;
    def.name = pack ? "lm" : "abc";
    def.dataset = "t.h5";
    def.pack = pack;
    def.max_length = pack ? 6 : 8;
    return resolve_tasks({def}, dir.path().string())[0];
  }
  test::TempDir dir;
};

TEST_F(TextEval, PerplexityIsTheExpOfTheMeanNextTokenNllAndBatchFree) {
  const Task lm = task(true);
  const auto spec = ArchSpec::parse("gpt2:depth=1,width=16,heads=2,context=6,classes=0");
  const auto params = init_params(spec, 3);
  const auto all = first_positions(lm.size(Split::Test));
  ASSERT_GE(all.size(), 10u);
  const Evaluation e = evaluate(spec, params, lm, Split::Test, all);
  ASSERT_TRUE(e.language_model);
  // Here: log-softmax of every position's logits, the next token's entry.
  const Batch b = lm.load(Split::Test, all);
  const auto logits = target_forward(spec, params, b.inputs);
  const int64_t t = logits.size(1);
  const auto logp = at::log_softmax(logits.narrow(1, 0, t - 1).to(at::kDouble), -1);
  const auto next = b.inputs.narrow(1, 1, t - 1);
  const double nll = -logp.gather(2, next.unsqueeze(2)).sum().item<double>();
  const double predictions = static_cast<double>(next.numel());
  EXPECT_EQ(e.count, predictions);
  EXPECT_NEAR(e.nll, nll, 1e-4 * nll);
  EXPECT_NEAR(e.perplexity(), std::exp(nll / predictions), 1e-4 * e.perplexity());
  EXPECT_GT(e.perplexity(), 1000);  // an untrained GPT-2 over 50,257 tokens is near uniform
  EXPECT_EQ(e.correct, logits.narrow(1, 0, t - 1).argmax(-1).eq(next).sum().item<int64_t>());
  // One sequence per batch gives the same sums.
  const Evaluation one = evaluate(spec, params, lm, Split::Test, all, 1);
  EXPECT_NEAR(one.nll, e.nll, 1e-6 * e.nll);
  EXPECT_EQ(one.correct, e.correct);
  EXPECT_EQ(e.mcc(), 0.0);  // no confusion matrix for a corpus
}

TEST_F(TextEval, ConfusionCountsAddUpOverShardsAndGiveTheMcc) {
  const Task abc = task(false);
  const auto spec = ArchSpec::parse("gpt2:depth=1,width=16,heads=2,context=8,classes=3");
  const auto params = init_params(spec, 5);
  const auto all = first_positions(abc.size(Split::Test));
  const Evaluation whole = evaluate(spec, params, abc, Split::Test, all);
  ASSERT_FALSE(whole.language_model);
  ASSERT_EQ(whole.confusion.sizes(), (at::IntArrayRef{3, 3}));
  EXPECT_EQ(whole.confusion.sum().item<double>(), static_cast<double>(all.size()));
  EXPECT_EQ(whole.confusion.trace().item<double>(), whole.correct);
  // Its rows are the true classes: 4 texts each.
  EXPECT_TRUE(whole.confusion.sum(1).equal(at::full({3}, 4.0, at::kDouble)));
  const Batch b = abc.load(Split::Test, all);
  const auto predicted = target_forward(spec, params, b.inputs).argmax(-1);
  std::vector<std::pair<int, int>> pairs;
  for (size_t i = 0; i < all.size(); ++i)
    pairs.push_back({static_cast<int>(b.labels[i].item<int64_t>()), static_cast<int>(predicted[i].item<int64_t>())});
  EXPECT_TRUE(whole.confusion.equal(confusion_of(pairs, 3)));
  // Two shards, summed as ranks sum them, are the whole.
  const Evaluation first = evaluate(spec, params, abc, Split::Test, {0, 1, 2, 3, 4});
  const Evaluation rest = evaluate(spec, params, abc, Split::Test, {5, 6, 7, 8, 9, 10, 11});
  const Evaluation summed = first.from_counts(first.to_counts() + rest.to_counts());
  EXPECT_TRUE(summed.confusion.equal(whole.confusion));
  EXPECT_EQ(summed.correct, whole.correct);
  EXPECT_EQ(summed.count, 12.0);
  EXPECT_DOUBLE_EQ(summed.mcc(), whole.mcc());
  EXPECT_FALSE(error_of([&] { first.from_counts(at::zeros({3}, at::kDouble)); }).empty());
}

TEST(TaskSuite, PackAndMetricKeys) {
  test::TempDir dir;
  const auto suite = dir.file("s.yaml");
  auto write = [&](const std::string& text) { std::ofstream(suite) << "tasks:\n" << text; };
  write("  - {name: lm, dataset: t.h5, pack: true, max_length: 64}\n"
        "  - {name: cola, dataset: c.h5, metric: mcc}\n");
  const auto defs = load_task_suite(suite);
  EXPECT_TRUE(defs[0].pack);
  EXPECT_EQ(defs[0].metric, "accuracy");
  EXPECT_EQ(defs[1].metric, "mcc");
  TaskDef unpacked = defs[0];
  unpacked.pack = false;
  EXPECT_NE(defs[0].hash(), unpacked.hash());
  // The metric says how results are read, not what the data is: embeddings keyed by the hash stay valid.
  TaskDef plain = defs[1];
  plain.metric = "accuracy";
  EXPECT_EQ(plain.hash(), defs[1].hash());
  write("  - {name: cola, dataset: c.h5, metric: mmc}\n");
  EXPECT_NE(error_of([&] { load_task_suite(suite); }).find("task 'cola': key 'metric': unknown 'mmc' (expected "
                                                          "accuracy or mcc)"),
            std::string::npos);
  write("  - {name: lm, dataset: t.h5, pack: true, metric: mcc}\n");
  EXPECT_NE(error_of([&] { load_task_suite(suite); }).find("key 'metric': mcc is for classification"), std::string::npos);
  write("  - {name: lm, dataset: t.h5, pack: maybe}\n");
  EXPECT_NE(error_of([&] { load_task_suite(suite); }).find("key 'pack': expected true or false"), std::string::npos);
}

TEST(FinetuneResults, MccTasksRankByMccAndVersionOneFilesStillRead) {
  FinetuneResults r;
  r.fractions = {0.9};
  auto cell = [](std::string init, std::vector<double> acc, std::vector<double> mcc) {
    FinetuneCell c;
    c.key = init;
    c.task = "cola";
    c.arch_id = "a";
    c.init = init;
    c.metric = "mcc";
    c.eval_steps = {0, 10, 20};
    c.accuracy = std::move(acc);
    c.mcc = std::move(mcc);
    c.loss = {1.0};
    return c;
  };
  // The majority-class run has the best accuracy and an MCC of 0: by MCC the other run is the best.
  r.cells = {cell("majority", {0.7, 0.7, 0.7}, {0.0, 0.0, 0.0}), cell("model", {0.5, 0.6, 0.65}, {0.1, 0.3, 0.4})};
  compute_steps_to(r);  // best final MCC 0.4: 90% of it is 0.36
  EXPECT_EQ(r.cells[1].steps_to, (std::vector<int64_t>{20}));
  EXPECT_EQ(r.cells[0].steps_to, (std::vector<int64_t>{-1}));
  // When no initialisation ends above an MCC of 0, no run reaches a fraction of it (a zero-shot 0 is not "90%").
  FinetuneResults flat = r;
  flat.cells[1].mcc = {0.0, -0.1, -0.05};
  compute_steps_to(flat);
  EXPECT_EQ(flat.cells[0].steps_to, (std::vector<int64_t>{-1}));
  EXPECT_EQ(flat.cells[1].steps_to, (std::vector<int64_t>{-1}));
  test::TempDir dir;
  const std::string path = dir.file("finetune.h5");
  write_finetune_results(path, r);
  auto back = read_finetune_results(path);
  ASSERT_EQ(back.cells.size(), 2u);
  EXPECT_EQ(back.cells[1].metric, "mcc");
  EXPECT_EQ(back.cells[1].mcc, r.cells[1].mcc);
  EXPECT_DOUBLE_EQ(back.cells[1].final_score(), 0.4);
  {  // A version 1 file (before MCC) reads as accuracy only.
    H5File f(path, H5File::Mode::ReadWrite);
    f.set_attr("/", "format_version", int64_t{1});
  }
  back = read_finetune_results(path);
  EXPECT_EQ(back.cells[1].metric, "accuracy");
  EXPECT_TRUE(back.cells[1].mcc.empty());
  {
    H5File f(path, H5File::Mode::ReadWrite);
    f.set_attr("/", "format_version", int64_t{6});
  }
  EXPECT_NE(error_of([&] { read_finetune_results(path); }).find("format version 6; this build reads version 1 to 5"),
            std::string::npos);
}

}  // namespace
}  // namespace tal
