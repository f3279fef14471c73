// The transfer methods (trainer/finetune/methods/): the identities of the specification on depth-2, width-16
// descendants of both families and a few steps. For every method, after k steps every tensor outside its trained set
// is bitwise its initial value and the counts are the closed forms; full is the plain training loop bit for bit;
// LoRA and adapters start exactly at the host, merged LoRA equals unmerged; the Taylor importance equals a
// per-example computation and, to first order, the loss change of zeroing the channel; a dead channel scores 0; the
// selection is the top K, and stage 2 with a zero map starts exactly at stage 1 and leaves the other channels
// untouched.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "base/error.h"
#include "datasets/h5.h"
#include "datasets/task_store.h"
#include "datasets/tasks.h"
#include "datasets/text_store.h"
#include "hypernet/family.h"
#include "tests/test_util.h"
#include "trainer/files/finetune_results.h"
#include "trainer/finetune/finetune_run.h"
#include "trainer/finetune/methods/cwps.h"
#include "trainer/finetune/methods/method.h"
#include "trainer/finetune/methods/porting.h"
#include "trainer/finetune/methods/two_stage.h"
#include "trainer/train/epoch_batches.h"
#include "trainer/train/evaluator.h"
#include "trainer/train/optimizer.h"
#include "trainer/train/update.h"

namespace tal {
namespace {

using test::error_of;

constexpr int64_t kWidth = 16, kDepth = 2, kClasses = 3;

ArchSpec spec_of_vit() { return ArchSpec::parse("vit:depth=2,width=16,heads=2,patch=4,image=8,channels=3,classes=3"); }
ArchSpec spec_of_gpt2() { return ArchSpec::parse("gpt2:depth=2,width=16,heads=2,context=8,classes=3"); }

// A 3-class image store of 8x8 RGB images (48 train, 24 test) and a 3-class text store (48 and 24 texts).
class Methods : public ::testing::Test {
 protected:
  void SetUp() override {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
    auto images = [&](int64_t n) {
      SplitData d;
      d.images = at::randint(0, 256, {n, 3, 8, 8}, gen, at::kByte);
      d.labels = at::arange(n, at::kLong) % kClasses;
      return d;
    };
    StoreMeta meta{"img", "test", {"a", "b", "c"}, {0.5, 0.5, 0.5}, {0.25, 0.25, 0.25}};
    write_task_store(dir.file("img.h5"), meta, images(48), images(24));
    auto texts = [&](int64_t n) {
      TextSplit s;
      s.tokens = at::randint(0, 50000, {n, 8}, gen, at::kInt);
      s.lengths = at::full({n}, 8, at::kInt);
      for (int64_t i = 0; i < n; i += 4) {
        s.lengths[i] = 5;
        s.tokens[i].narrow(0, 5, 3).fill_(50256);
      }
      s.labels = at::arange(n, at::kLong) % kClasses;
      return s;
    };
    write_text_store(dir.file("txt.h5"), TextStoreMeta{"txt", "test", {"a", "b", "c"}, "gpt2-bpe:test", 50257},
                     texts(48), texts(24));
  }
  Task task(bool text) const {
    TaskDef def;
    def.name = text ? "txt" : "img";
    def.dataset = text ? "txt.h5" : "img.h5";
    if (text) def.max_length = 8;
    return resolve_tasks({def}, dir.path().string())[0];
  }
  static ArchSpec spec(bool text) { return text ? spec_of_gpt2() : spec_of_vit(); }
  static FinetuneOptions recipe(int64_t steps = 4) {
    FinetuneOptions r;
    r.steps = steps;
    r.batch = 8;
    r.warmup = 1;
    r.eval_every = 2;
    r.eval_images = 0;
    return r;
  }
  static TrainValSplit split_of(const Task& t) { return validation_split(t.size(Split::Train), 0.25, 5); }
  static ParamMap copy(const ParamMap& p) {
    ParamMap out;
    for (const auto& [k, v] : p) out[k] = v.detach().clone();
    return out;
  }
  test::TempDir dir;
};

// The family's initialisation as trainable leaves (what an initialiser hands the grid), with a random head:
// torchvision's zero ViT head would give the body no gradient at all.
ParamMap leaves(const ArchSpec& s, uint64_t seed) {
  ParamMap p = init_params(s, seed);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed + 100);
  if (p.count("heads.head.weight")) p.at("heads.head.weight").normal_(0, 0.5, gen);
  for (auto& [k, v] : p) v.requires_grad_(true);
  return p;
}

int64_t numel_where(const ArchSpec& s, const std::function<bool(const std::string&)>& pick) {
  int64_t n = 0;
  for (const auto& p : param_table(s))
    if (pick(p.name)) n += p.numel();
  return n;
}

TEST(MethodSpecs, CanonicalNamesKeysAndOneLineErrors) {
  EXPECT_EQ(parse_method("full").str(), "full");
  EXPECT_EQ(parse_method("lora:r=2").str(), "lora:r=2,alpha=auto,targets=qv");
  EXPECT_EQ(parse_method(parse_method("adapter:placement=houlsby").str()).str(), "adapter:m=auto,placement=houlsby");
  EXPECT_EQ(regroup_methods({"lora:r=4", "alpha=8", "head", "two-stage:k=2"}),
            (std::vector<std::string>{"lora:r=4,alpha=8", "head", "two-stage:k=2"}));
  EXPECT_NE(error_of([] { parse_method("lorra"); }).find("key 'finetune.methods': unknown method 'lorra'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_method("lorra"); }).find("did you mean 'lora'"), std::string::npos);
  EXPECT_NE(error_of([] { parse_method("lora:rank=4"); }).find("has no key 'rank'"), std::string::npos);
  EXPECT_NE(error_of([] { parse_method("head:r=4"); }).find("it takes none"), std::string::npos);
  ParamMap p = leaves(spec_of_vit(), 0);
  EXPECT_NE(error_of([&] { attach_method("lora:r=x", spec_of_vit(), p, 0); }).find("r='x' is not a whole number"),
            std::string::npos);
  const std::string wide = error_of([&] { attach_method("lora:r=17", spec_of_vit(), p, 0); });
  EXPECT_NE(wide.find("rank r=17 is larger than"), std::string::npos) << wide;
  EXPECT_NE(error_of([&] { attach_method("adapter:m=32", spec_of_vit(), p, 0); }).find("bottleneck m=32"),
            std::string::npos);
  EXPECT_NE(error_of([&] { attach_method("two-stage:k=17", spec_of_vit(), p, 0); }).find("k=17 channels"),
            std::string::npos);
  EXPECT_NE(error_of([&] { attach_method("lora:targets=qx", spec_of_vit(), p, 0); }).find("targets='qx'"),
            std::string::npos);
}

// The closed forms of the specification (transfer_methods.md §0-2), with C = 16, D = 2.
int64_t expected_trainable(const std::string& method, const ArchSpec& s) {
  const Family& f = s.family();
  const int64_t head = numel_where(s, [&](const std::string& n) { return f.is_classifier(n); });
  const int64_t c = kWidth, d = kDepth;
  if (method == "full") return count_params(s, false);
  if (method == "head") return head;
  if (method == "ln") return 4 * c * d + 2 * c + head;
  if (method == "lora:r=2") return d * 2 * (2 * 2 * c) + head;           // q and v: A [r, C] and B [C, r]
  if (method == "lora:r=2,targets=qkv") return d * 3 * (2 * 2 * c) + head;
  // + out [C, C], fc1 [4C, C], fc2 [C, 4C]: r (in + out) each.
  if (method == "lora:r=2,targets=qv+out+fc1+fc2")
    return d * (2 * (2 * 2 * c) + 2 * 2 * c + 2 * 2 * (c + 4 * c)) + head;
  if (method == "adapter") return d * (2 * c * 2 + 2 + c) + head;         // m = max(2, C/16) = 2
  if (method == "adapter:placement=houlsby") return 2 * d * (2 * c * 2 + 2 + c) + 4 * c * d + 2 * c + head;
  if (method == "two-stage") return 4 * c * d + 2 * c + head + d * (2 * 2 + 2);  // K = C/8 = 2
  if (method == "bitfit") {  // every bias: q|k|v, out, fc1 (4C), fc2, two LayerNorm shifts; the final LN's; ViT's
                             // patch embedding's; the head
    const int64_t stem = f.name() == "vit" ? c : 0;
    return d * (3 * c + c + 4 * c + c + 2 * c) + c + stem + head;
  }
  // A delta per q|k|v [3C, C], out [C, C], fc1 [4C, C], fc2 [C, 4C] and a score each.
  if (method == "taps") return d * (3 * c * c + c * c + 4 * c * c + 4 * c * c) + 4 * d + head;
  ADD_FAILURE() << "no closed form for " << method;
  return -1;
}

// Runs `method` for 4 steps (two-stage: 2 + 2) and checks what changed against what it declares.
void check_method(const std::string& method, const ArchSpec& s, const Task& task, const TrainValSplit& split,
                  const FinetuneOptions& r) {
  SCOPED_TRACE(method + " on " + s.str());
  ParamMap params = leaves(s, 1);
  ParamMap before;
  for (const auto& [k, v] : params) before[k] = v.detach().clone();
  const auto a = attach_method(method, s, params, 7);
  EXPECT_EQ(a->trainable_count(), expected_trainable(method, s));
  if (parse_method(method).name == "two-stage")
    EXPECT_EQ(a->stored_count(), a->trainable_count() + kDepth * 2);  // + the K channel indices per block
  else if (parse_method(method).name == "taps")
    EXPECT_EQ(a->stored_count(), a->trainable_count() - kDepth * 4);  // every delta active at first; no scores
  else
    EXPECT_EQ(a->stored_count(), a->trainable_count());
  std::set<const void*> trained;
  for (const auto& t : a->trainable()) trained.insert(t.unsafeGetTensorImpl());
  std::vector<std::pair<std::string, at::Tensor>> modules_before;
  for (const auto& [n, t] : a->modules()) modules_before.emplace_back(n, t.detach().clone());
  const auto out = finetune_run(s, params, task, split, r, 3e-2, 5, [] { return false; }, a.get());
  ASSERT_TRUE(out.completed);
  // After the run: trainable() is the last stage's set; two-stage's stage-1 tensors are the LayerNorms and head.
  for (const auto& t : a->trainable()) trained.insert(t.unsafeGetTensorImpl());
  const Family& f = s.family();
  const bool two_stage = parse_method(method).name == "two-stage";
  for (const auto& p : param_table(s)) {
    const auto& now = params.at(p.name);
    const bool declared = trained.count(now.unsafeGetTensorImpl()) > 0 ||
                          (two_stage && (f.is_layer_norm(p.name) || f.is_classifier(p.name)));
    if (declared)
      EXPECT_FALSE(at::equal(now, before.at(p.name))) << p.name << " is trained but did not move";
    else
      EXPECT_TRUE(at::equal(now, before.at(p.name))) << p.name << " is frozen but moved";
  }
  // Every module tensor moved, except LoRA's A and the adapters' down-projections, which move only once B / up do
  // (they may or may not within 4 steps), and index tensors.
  for (const auto& [n, t] : a->modules()) {
    if (!t.is_floating_point()) continue;
    const bool may_rest = n.find("lora_A") != std::string::npos || n.find(".down.") != std::string::npos;
    for (const auto& [n0, t0] : modules_before)
      if (n0 == n && !may_rest) {
        EXPECT_FALSE(at::equal(t, t0)) << n << " did not move";
      }
  }
}

TEST_F(Methods, EachTrainsWhatItDeclaresAndNothingElseWithTheClosedFormCounts) {
  for (const bool text : {false, true}) {
    const Task t = task(text);
    const auto split = split_of(t);
    for (const std::string m : {"full", "head", "ln", "lora:r=2", "lora:r=2,targets=qkv",
                                "lora:r=2,targets=qv+out+fc1+fc2", "adapter",
                                "adapter:placement=houlsby", "two-stage", "bitfit", "taps"})
      check_method(m, spec(text), t, split, recipe());
  }
}

// The loop tal finetune ran before it had methods: AdamW over every parameter in the family's order.
RunOutcome plain_loop(const ArchSpec& s, ParamMap& params, const Task& task, const TrainValSplit& split,
                      const FinetuneOptions& r, double lr, uint64_t seed) {
  RunOutcome out;
  std::vector<at::Tensor> leaves;
  for (const auto& p : param_table(s)) leaves.push_back(params.at(p.name));
  AdamWConfig cfg;
  cfg.weight_decay = r.weight_decay;
  AdamW optim(leaves, cfg);
  std::vector<at::Tensor> no_ema;
  EpochBatches batches(task, split.train, r.batch, seed);
  for (int64_t step = 0; step < r.steps; ++step) {
    const Batch b = batches.at(step);
    const auto loss = s.family().loss(target_forward(s, params, b.inputs), b.labels, r.label_smoothing).mean();
    optim.zero_grad();
    loss.backward();
    apply_update(leaves, optim, cosine_lr(lr, step, r.warmup, r.steps), r.clip, 0, no_ema);
    out.loss.push_back(loss.item<double>());
  }
  return out;
}

TEST_F(Methods, FullIsThePlainTrainingLoopBitForBit) {
  for (const bool text : {false, true}) {
    const Task t = task(text);
    const auto split = split_of(t);
    ParamMap a = leaves(spec(text), 2), b = leaves(spec(text), 2), c = leaves(spec(text), 2);
    const auto plain = plain_loop(spec(text), a, t, split, recipe(), 1e-2, 9);
    const auto full = attach_method("full", spec(text), b, 9);
    EXPECT_EQ(full->hooks(), nullptr);
    const auto via_method = finetune_run(spec(text), b, t, split, recipe(), 1e-2, 9, [] { return false; }, full.get());
    const auto by_default = finetune_run(spec(text), c, t, split, recipe(), 1e-2, 9, [] { return false; });
    EXPECT_EQ(via_method.loss, plain.loss);
    EXPECT_EQ(by_default.loss, plain.loss);
    EXPECT_EQ(via_method.accuracy, by_default.accuracy);
    for (const auto& p : param_table(spec(text))) {
      EXPECT_TRUE(at::equal(a.at(p.name), b.at(p.name))) << p.name;
      EXPECT_TRUE(at::equal(a.at(p.name), c.at(p.name))) << p.name;
    }
  }
}

TEST_F(Methods, LoraAndAdaptersStartExactlyAtTheHost) {
  for (const bool text : {false, true}) {
    const Task t = task(text);
    const Batch b = t.load(Split::Test, first_positions(8));
    ParamMap host = leaves(spec(text), 3);
    at::NoGradGuard guard;
    const auto logits = target_forward(spec(text), host, b.inputs);
    for (const std::string m : {"lora:r=4", "lora:r=2,targets=qkv", "lora:r=2,targets=fc1+out", "adapter",
                                "adapter:placement=houlsby"}) {
      ParamMap p = copy(host);
      const auto a = attach_method(m, spec(text), p, 4);
      ASSERT_NE(a->hooks(), nullptr);
      EXPECT_TRUE(at::equal(target_forward(spec(text), p, b.inputs, a->hooks()), logits)) << m;
    }
  }
}

TEST_F(Methods, LoraOnEveryProjectionMergesIntoEachWeight) {
  for (const bool text : {false, true}) {
    const ArchSpec s = spec(text);
    const Task t = task(text);
    const Batch b = t.load(Split::Train, first_positions(8));
    ParamMap p = leaves(s, 3);
    const auto a = attach_method("lora:r=2,targets=qv+out+fc1+fc2", s, p, 4);
    finetune_run(s, p, t, split_of(t), recipe(), 5e-2, 5, [] { return false; }, a.get());
    at::NoGradGuard guard;
    const auto unmerged = target_forward(s, p, b.inputs, a->hooks());
    ParamMap merged = copy(p);
    a->merge_into(merged);
    EXPECT_TRUE(test::all_close("merged LoRA on every projection", target_forward(s, merged, b.inputs), unmerged,
                                1e-5, 1e-5));
    for (int64_t l = 0; l < kDepth; ++l)
      for (const Projection q : {Projection::Out, Projection::Fc1, Projection::Fc2}) {
        const std::string w = s.family().projection_weight(l, q);
        EXPECT_FALSE(at::equal(merged.at(w), p.at(w))) << w;
      }
  }
  ParamMap p = leaves(spec_of_vit(), 1);
  for (const std::string bad : {"qv+mlp", "", "q++v", "qv+"})
    EXPECT_NE(error_of([&] { attach_method("lora:targets=" + bad, spec_of_vit(), p, 0); })
                  .find("targets='" + bad + "' (expected letters of q, k, v"),
              std::string::npos)
        << bad;
}

TEST_F(Methods, LoraGradientsAtStepZeroAndMergedEqualsUnmerged) {
  for (const bool text : {false, true}) {
    const ArchSpec s = spec(text);
    const Task t = task(text);
    const Batch b = t.load(Split::Train, first_positions(8));
    ParamMap p = leaves(s, 3);
    const auto a = attach_method("lora:r=2", s, p, 4);
    s.family().loss(target_forward(s, p, b.inputs, a->hooks()), b.labels, 0).mean().backward();
    for (const auto& [n, m] : a->modules()) {
      ASSERT_TRUE(m.grad().defined()) << n;
      if (n.find("lora_A") != std::string::npos)
        EXPECT_EQ(m.grad().abs().max().item<float>(), 0.0f) << n;  // B = 0: no gradient reaches A yet
      else
        EXPECT_GT(m.grad().abs().max().item<float>(), 0.0f) << n;
    }
    for (auto& [n, m] : a->modules()) m.grad().zero_();
    // Train a few steps so B is not zero, then merge.
    const auto r = recipe();
    finetune_run(s, p, t, split_of(t), r, 5e-2, 5, [] { return false; }, a.get());
    at::NoGradGuard guard;
    const auto unmerged = target_forward(s, p, b.inputs, a->hooks());
    ParamMap merged = copy(p);
    a->merge_into(merged);
    EXPECT_TRUE(test::all_close("merged LoRA", target_forward(s, merged, b.inputs), unmerged, 1e-5, 1e-5));
    EXPECT_FALSE(at::equal(target_forward(s, p, b.inputs), unmerged));  // B moved: the module does something
    // The k part of the merged q | k | v weight is the host's; q and v moved.
    for (int64_t l = 0; l < kDepth; ++l) {
      const std::string w = s.family().qkv_weight(l);
      const int64_t dim = s.family().weights_stored_in_by_out() ? 1 : 0;
      EXPECT_TRUE(at::equal(merged.at(w).narrow(dim, kWidth, kWidth), p.at(w).narrow(dim, kWidth, kWidth))) << w;
      EXPECT_FALSE(at::equal(merged.at(w).narrow(dim, 0, kWidth), p.at(w).narrow(dim, 0, kWidth))) << w;
      EXPECT_FALSE(at::equal(merged.at(w).narrow(dim, 2 * kWidth, kWidth), p.at(w).narrow(dim, 2 * kWidth, kWidth)))
          << w;
    }
  }
}

// I_l(c) one example at a time: the residual stream's gradient from that example's loss alone.
at::Tensor importance_by_example(const ArchSpec& s, const ParamMap& params, const Task& task,
                                 const std::vector<int64_t>& positions) {
  struct Keep : BlockHooks {
    at::Tensor residual(int64_t l, const at::Tensor& x) const override {
      auto leaf = x.detach().clone().requires_grad_(true);
      kept[static_cast<size_t>(l)] = leaf;
      return leaf + (x - x.detach());  // the value is x; the gradient reaches `leaf` and still flows back through x
    }
    mutable std::vector<at::Tensor> kept = std::vector<at::Tensor>(kDepth);
  };
  auto out = at::zeros({kDepth, kWidth}, at::kDouble);
  for (const int64_t pos : positions) {
    const Batch b = task.load(Split::Train, {pos});
    Keep keep;
    s.family().loss(target_forward(s, params, b.inputs, &keep), b.labels, 0).sum().backward();
    // The text's length: the positions before the first <|endoftext|> (50256); an image's every token.
    int64_t length = b.inputs.dim() == 2 ? 0 : -1;
    if (length == 0)
      while (length < b.inputs.size(1) && b.inputs[0][length].item<int64_t>() != 50256) ++length;
    for (int64_t l = 0; l < kDepth; ++l) {
      const auto& h = keep.kept[static_cast<size_t>(l)];
      const auto hg = (h.detach() * h.grad()).to(at::kDouble)[0];
      out[l] += (length > 0 ? hg.sum(0) / static_cast<double>(length) : hg.mean(0)).abs();
    }
  }
  return out / static_cast<double>(positions.size());
}

TEST_F(Methods, TaylorImportanceIsThePerExampleSumAndADeadChannelScoresZero) {
  for (const bool text : {false, true}) {
    const ArchSpec s = spec(text);
    const Task t = task(text);
    ParamMap p = leaves(s, 6);
    const auto positions = first_positions(12);
    const auto batched = taylor_importance(s, p, t, positions, 5);
    const auto single = importance_by_example(s, p, t, positions);
    EXPECT_TRUE(test::all_close("importance", batched, single, 1e-5, 1e-9));
    EXPECT_GT(batched.min().item<double>(), 0.0);
    // Invariant to the examples' order.
    const std::vector<int64_t> reversed(positions.rbegin(), positions.rend());
    EXPECT_TRUE(test::all_close("reordered", taylor_importance(s, p, t, reversed, 5), batched, 1e-6, 1e-12));
  }
  // ViT: channel 5 of the residual stream is zero through block 0 when nothing writes it.
  const ArchSpec s = spec_of_vit();
  ParamMap p = leaves(s, 6);
  {
    at::NoGradGuard guard;
    p.at("conv_proj.weight")[5].zero_();
    p.at("conv_proj.bias")[5].zero_();
    p.at("encoder.pos_embedding").select(2, 5).zero_();
    p.at("class_token").select(2, 5).zero_();
    p.at("encoder.layers.encoder_layer_0.self_attention.out_proj.weight")[5].zero_();
    p.at("encoder.layers.encoder_layer_0.self_attention.out_proj.bias")[5].zero_();
  }
  const auto dead = taylor_importance(s, p, task(false), first_positions(12));
  EXPECT_EQ(dead[0][5].item<double>(), 0.0);
  EXPECT_GT(dead[0].sum().item<double>(), 0.0);
}

// Scales channel c of block l's residual stream by (1 - eps): d/d(eps) of the loss at 0 is -Σ_t h_{t,c} ∂L/∂h_{t,c},
// the first-order change of the loss when the channel is zeroed.
class ScaleChannel final : public BlockHooks {
 public:
  ScaleChannel(int64_t l, int64_t c, double eps) : l_(l), c_(c), eps_(eps) {}
  at::Tensor residual(int64_t l, const at::Tensor& x) const override {
    if (l != l_) return x;
    auto scale = at::ones({x.size(-1)}, x.options());
    scale[c_] = 1 - eps_;
    return x * scale;
  }

 private:
  int64_t l_, c_;
  double eps_;
};

// The importance of one example is |the loss change of zeroing the channel| to first order, over its content
// positions: T_n I_l(c) = |dL_n/d(eps)| by central differences, in double, for every block and channel of both
// families (GPT-2 with a padded text: its T_n is its length).
TEST_F(Methods, TaylorImportanceIsTheFirstOrderLossChangeOfZeroingAChannel) {
  for (const bool text : {false, true}) {
    const ArchSpec s = spec(text);
    const Task t = task(text);
    ParamMap p = leaves(s, 8);
    for (auto& [name, v] : p) v = v.detach().to(at::kDouble).requires_grad_(true);
    for (const int64_t n : {0, 1}) {  // example 0 of the text store is padded (5 of 8 tokens)
      const auto importance = taylor_importance(s, p, t, {n});
      const Batch b = t.load(Split::Train, {n});
      const auto inputs = b.inputs.is_floating_point() ? b.inputs.to(at::kDouble) : b.inputs;
      const auto content = s.family().content_positions(inputs);
      const double positions = content.defined() ? content.sum().item<double>() : 5.0;  // ViT: (8/4)^2 patches + class
      auto loss = [&](const BlockHooks& h) {
        at::NoGradGuard guard;
        return s.family().loss(target_forward(s, p, inputs, &h), b.labels, 0.0).sum().item<double>();
      };
      const double eps = 1e-5;
      for (int64_t l = 0; l < kDepth; ++l)
        for (int64_t c = 0; c < kWidth; ++c) {
          const double change = (loss(ScaleChannel(l, c, eps)) - loss(ScaleChannel(l, c, -eps))) / (2 * eps);
          EXPECT_NEAR(positions * importance[l][c].item<double>(), std::abs(change), 1e-7 + 1e-6 * std::abs(change))
              << s.str() << " example " << n << " block " << l << " channel " << c;
        }
    }
  }
}

TEST_F(Methods, ValidationScoresTheAdaptedModel) {
  const ArchSpec s = spec_of_vit();
  const Task t = task(false);
  const auto split = split_of(t);
  ParamMap p = leaves(s, 3);
  const auto a = attach_method("lora:r=4", s, p, 4);
  const auto out = finetune_run(s, p, t, split, recipe(), 5e-2, 5, [] { return false; }, a.get());
  const Evaluation with = evaluate(s, p, t, Split::Train, split.val, kEvaluationBatch, a->hooks());
  EXPECT_EQ(out.val_accuracy, with.accuracy());
  EXPECT_EQ(out.val_mcc, with.mcc());
}

TEST_F(Methods, TwoStageKeepsItsLayerNormsFrozenInStageTwo) {
  // Stage 1 of two-stage (2 of 4 steps) is ln for 2 steps: the same LayerNorms, which stage 2 leaves alone.
  for (const bool text : {false, true}) {
    const ArchSpec s = spec(text);
    const Task t = task(text);
    const auto split = split_of(t);
    ParamMap two = leaves(s, 3), ln = leaves(s, 3);
    const auto a = attach_method("two-stage:k=2", s, two, 4);
    const auto b = attach_method("ln", s, ln, 4);
    finetune_run(s, two, t, split, recipe(4), 3e-2, 5, [] { return false; }, a.get());
    finetune_run(s, ln, t, split, recipe(2), 3e-2, 5, [] { return false; }, b.get());
    int checked = 0;
    for (const auto& p : param_table(s)) {
      if (!s.family().is_layer_norm(p.name)) continue;
      EXPECT_TRUE(at::equal(two.at(p.name), ln.at(p.name))) << p.name;
      ++checked;
    }
    EXPECT_EQ(checked, 4 * kDepth + 2);
    // With ln=trained, stage 2 moves them on.
    ParamMap moving = leaves(s, 3);
    const auto c = attach_method("two-stage:k=2,ln=trained", s, moving, 4);
    finetune_run(s, moving, t, split, recipe(4), 3e-2, 5, [] { return false; }, c.get());
    const std::string final_ln = text ? "transformer.ln_f.weight" : "encoder.ln.weight";
    EXPECT_FALSE(at::equal(moving.at(final_ln), ln.at(final_ln)));
  }
}

// ScaLearn's sources: three single-task adapters trained on one host (the same task from three seeds: the identities
// are about the wiring, not what the adapters learned), each with the head it was trained with.
struct TrainedAdapters {
  SourceModules sources;
  std::vector<ParamMap> models;  // host + head as each adapter's run left them
  std::vector<std::unique_ptr<Adaptation>> adapters;
};

TEST_F(Methods, ScaLearnWithOneHotScalesIsThatAdapterAndWithZeroScalesTheHost) {
  for (const bool text : {false, true}) {
    const ArchSpec s = spec(text);
    const Task t = task(text);
    const Batch b = t.load(Split::Test, first_positions(8));
    const ParamMap host = leaves(s, 3);
    TrainedAdapters src;
    for (uint64_t k = 0; k < 3; ++k) {
      src.models.push_back(copy(host));
      for (auto& [n, v] : src.models.back()) v.requires_grad_(true);
      src.adapters.push_back(attach_method("adapter", s, src.models.back(), 10 + k));
      finetune_run(s, src.models.back(), t, split_of(t), recipe(), 5e-2, 20 + k, [] { return false; },
                   src.adapters.back().get());
      src.sources.tasks.push_back("source" + std::to_string(k));
      src.sources.modules.push_back(src.adapters.back()->modules());
    }
    for (const std::string variant : {"omega=channel,layers=each", "omega=scalar,layers=each",
                                      "omega=channel,layers=shared", "omega=scalar,layers=shared"}) {
      SCOPED_TRACE(s.str() + " " + variant);
      ParamMap p = copy(host);
      for (auto& [n, v] : p) v.requires_grad_(true);
      const auto a = attach_method("scalearn:dropout=0," + variant, s, p, 4, &src.sources);
      at::NoGradGuard guard;
      // One-hot on source 1 (ones over its channels), with source 1's head: source 1's adapter model, bit for bit.
      for (const auto& [name, omega] : a->modules()) {
        omega.zero_();
        omega[1].fill_(1);
      }
      for (const auto& q : param_table(s))
        if (s.family().is_classifier(q.name)) p.at(q.name).copy_(src.models[1].at(q.name));
      a->set_training(false);
      const auto own = target_forward(s, src.models[1], b.inputs, src.adapters[1]->hooks());
      EXPECT_TRUE(at::equal(target_forward(s, p, b.inputs, a->hooks()), own));
      // Zero scales: the host (with that head).
      for (const auto& [name, omega] : a->modules()) omega.zero_();
      EXPECT_TRUE(at::equal(target_forward(s, p, b.inputs, a->hooks()), target_forward(s, p, b.inputs)));
    }
  }
}

TEST_F(Methods, ScaLearnTrainsOnlyItsScalesAndTheHeadWithTheClosedFormCountsAndNoDropoutAtEvaluation) {
  const ArchSpec s = spec_of_vit();
  const Task t = task(false);
  const ParamMap host = leaves(s, 3);
  SourceModules sources;
  std::vector<ParamMap> models;
  std::vector<std::unique_ptr<Adaptation>> adapters;
  for (uint64_t k = 0; k < 3; ++k) {  // untrained adapters with nonzero up-projections (W_up = 0 would hide the scales)
    models.push_back(copy(host));
    adapters.push_back(attach_method("adapter", s, models.back(), 10 + k));
    for (const auto& [n, v] : adapters.back()->modules()) {
      at::NoGradGuard guard;
      v.normal_(0, 0.2);
    }
    sources.tasks.push_back("source" + std::to_string(k));
    sources.modules.push_back(adapters.back()->modules());
  }
  const int64_t n = 3, c = kWidth, d = kDepth;
  const int64_t head = numel_where(s, [&](const std::string& name) { return s.family().is_classifier(name); });
  const std::map<std::string, int64_t> counts = {{"omega=channel,layers=each", n * c * d},
                                                 {"omega=scalar,layers=each", n * d},
                                                 {"omega=channel,layers=shared", n * c},
                                                 {"omega=scalar,layers=shared", n}};
  for (const auto& [variant, scales] : counts) {
    SCOPED_TRACE(variant);
    ParamMap p = copy(host);
    for (auto& [name, v] : p) v.requires_grad_(true);
    const ParamMap before = copy(p);
    std::vector<std::pair<std::string, at::Tensor>> sources_before;
    for (const auto& m : sources.modules)
      for (const auto& [name, v] : m) sources_before.emplace_back(name, v.detach().clone());
    const auto a = attach_method("scalearn:" + variant, s, p, 4, &sources);
    EXPECT_EQ(a->trainable_count(), scales + head);
    EXPECT_EQ(a->stored_count(), scales + head);
    const auto omega_before = a->modules().front().second.detach().clone();
    finetune_run(s, p, t, split_of(t), recipe(), 5e-2, 5, [] { return false; }, a.get());
    for (const auto& q : param_table(s)) {
      const bool moved = !at::equal(p.at(q.name), before.at(q.name));
      EXPECT_EQ(moved, s.family().is_classifier(q.name)) << q.name;
    }
    EXPECT_FALSE(at::equal(a->modules().front().second, omega_before));
    size_t i = 0;
    for (const auto& m : sources.modules)
      for (const auto& [name, v] : m) EXPECT_TRUE(at::equal(v, sources_before[i++].second)) << name;
  }
  // Dropout on the scales (0.3 by default; 0 for omega=scalar,layers=shared) while training, never at evaluation.
  ParamMap p = copy(host);
  const auto a = attach_method("scalearn", s, p, 4, &sources);
  const Batch b = t.load(Split::Test, first_positions(8));
  at::NoGradGuard guard;
  a->set_training(true);
  const auto first = target_forward(s, p, b.inputs, a->hooks());
  EXPECT_FALSE(at::equal(first, target_forward(s, p, b.inputs, a->hooks())));
  a->set_training(false);
  const auto eval = target_forward(s, p, b.inputs, a->hooks());
  EXPECT_TRUE(at::equal(eval, target_forward(s, p, b.inputs, a->hooks())));
  ParamMap q = copy(host);
  const auto none = attach_method("scalearn:dropout=0", s, q, 4, &sources);
  EXPECT_TRUE(at::equal(eval, target_forward(s, q, b.inputs, none->hooks())));
  // Without its sources, or with one, it is one line naming the key.
  EXPECT_NE(error_of([&] { attach_method("scalearn", s, q, 4); }).find("key 'finetune.methods': 'scalearn:omega=channel,"
                                                                      "layers=each,dropout=auto,m=auto' reads the "
                                                                      "modules of adapter:m=auto,placement=pfeiffer runs"),
            std::string::npos);
  SourceModules one{{"source0"}, {sources.modules[0]}};
  EXPECT_NE(error_of([&] { attach_method("scalearn", s, q, 4, &one); }).find("scales the adapters of at least two tasks"),
            std::string::npos);
}

// TAPS: with every score below the threshold the task's model is the host whatever the deltas; it stores the active
// deltas and the head; the active deltas fold into the weights; a large penalty switches every layer off.
TEST_F(Methods, TapsIsTheHostBelowTheThresholdStoresItsActiveLayersAndALargePenaltyLeavesNone) {
  for (const bool text : {false, true}) {
    const ArchSpec s = spec(text);
    const Task t = task(text);
    const Batch b = t.load(Split::Test, first_positions(8));
    const ParamMap host = leaves(s, 3);
    const int64_t head = numel_where(s, [&](const std::string& n) { return s.family().is_classifier(n); });
    ParamMap p = copy(host);
    const auto a = attach_method("taps", s, p, 4);
    at::Tensor logits;
    {
      at::NoGradGuard guard;
      logits = target_forward(s, host, b.inputs);
      EXPECT_TRUE(at::equal(target_forward(s, p, b.inputs, a->hooks()), logits));  // deltas 0, every layer active
      auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
      for (const auto& [name, v] : a->modules())
        if (name.find("taps_delta") != std::string::npos) v.normal_(0, 0.1, gen);
        else v.fill_(0.05);  // below tau = 0.1
      EXPECT_TRUE(at::equal(target_forward(s, p, b.inputs, a->hooks()), logits));
      EXPECT_EQ(a->stored_count(), head);
      // Switch the out-projection and fc2 of block 0 on: they are what it stores, and they fold into the weights.
      int64_t want = head;
      for (const auto& [name, v] : a->modules())
        if (name.find("taps_score") != std::string::npos &&
            (name.find(s.family().projection_weight(0, Projection::Out)) == 0 ||
             name.find(s.family().projection_weight(0, Projection::Fc2)) == 0)) {
          v.fill_(0.5);
          want += p.at(name.substr(0, name.find(".taps_score"))).numel();
        }
      EXPECT_EQ(a->stored_count(), want);
      const auto unmerged = target_forward(s, p, b.inputs, a->hooks());
      EXPECT_FALSE(at::equal(unmerged, logits));
      ParamMap merged = copy(p);
      a->merge_into(merged);
      EXPECT_TRUE(test::all_close("merged TAPS", target_forward(s, merged, b.inputs), unmerged, 1e-5, 1e-5));
    }
    // A large penalty switches every layer off within a few steps (the scores fall by about the rate a step under
    // Adam); without one at least as many stay on.
    auto active_after = [&](const std::string& method) {
      ParamMap q = copy(host);
      for (auto& [name, v] : q) v.requires_grad_(true);
      const auto m = attach_method(method, s, q, 4);
      finetune_run(s, q, t, split_of(t), recipe(6), 3e-2, 5, [] { return false; }, m.get());
      return m->stored_count() - head;
    };
    const int64_t none = active_after("taps:lambda=100"), free = active_after("taps:lambda=0");
    EXPECT_EQ(none, 0) << s.str();
    EXPECT_GT(free, 0) << s.str();
  }
}

// CWPS's pool member as its run stores it, for a model whose every row is its own (scores 0, below tau): its
// composed tensors row by row, parent 0 (the host) per block.
std::vector<std::pair<std::string, at::Tensor>> cwps_member(const ArchSpec& s, const ComposedWeights& w) {
  const bool in_by_out = s.family().weights_stored_in_by_out();
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& layer : composed_layers(s)) {
    const auto& weight = w.at(layer.weight);
    out.emplace_back(layer.weight + ".cwps_score", at::zeros({w.at(layer.bias).size(0)}));
    out.emplace_back(layer.weight + ".cwps_rows", (in_by_out ? weight.t() : weight).contiguous());
    out.emplace_back(layer.bias + ".cwps_rows", w.at(layer.bias));
  }
  out.emplace_back("cwps.parent", at::zeros({kDepth}));
  out.emplace_back("cwps.cpms", at::zeros({kDepth, 1}));
  return out;
}

ComposedWeights moved(const ComposedWeights& w, double scale, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  ComposedWeights out;
  for (const auto& [name, t] : w) out[name] = t + at::empty(t.sizes()).normal_(0, scale, gen);
  return out;
}

TEST(Cwps, CpmsOfAModelWithItselfIsOneWithTheHostZeroAndTheParentIsTheBestAboveZero) {
  const ArchSpec s = spec_of_gpt2();
  const ParamMap host = init_params(s, 3);
  const auto h = composed_weights(s, host), a = moved(h, 0.1, 1), b = moved(h, 0.1, 2);
  EXPECT_TRUE(test::all_close("CPMS(a, a)", cpms_per_block(s, h, a, a), at::ones({kDepth}, at::kDouble), 1e-12, 0));
  EXPECT_TRUE(at::equal(cpms_per_block(s, h, a, h), at::zeros({kDepth}, at::kDouble)));
  const auto ab = cpms_per_block(s, h, a, b);
  EXPECT_LT(ab.abs().max().item<double>(), 0.5);  // independent moves are nearly orthogonal
  // Half of every row of b moved as a: cos = 1/sqrt(2) on each row... only where both moved (here: all).
  ComposedWeights half;
  for (const auto& [name, t] : a) half[name] = t + (b.at(name) - h.at(name));
  EXPECT_GT(cpms_per_block(s, h, a, half).min().item<double>(), 0.6);
  EXPECT_EQ(choose_parents(at::tensor({0.0, -0.1, 0.3, 0.2, -0.2, -0.1, 0.0, 0.0}).view({2, 4})),
            (std::vector<int64_t>{2, 0}));
}

// The grid's pool for a task: the host and two earlier models A, B; the child is B itself in block 0 and A moved a
// little in block 1, so B is block 0's parent and A block 1's. All masks on: the parent exactly; all off: the child.
TEST_F(Methods, CwpsAllMasksOnIsTheParentAllOffTheChildAndAPlantedMemberIsChosen) {
  for (const bool text : {false, true}) {
    const ArchSpec s = spec(text);
    SCOPED_TRACE(s.str());
    const Task t = task(text);
    const Batch batch = t.load(Split::Test, first_positions(8));
    const ParamMap host = leaves(s, 3);
    const auto h = composed_weights(s, host), a = moved(h, 0.05, 1), b = moved(h, 0.05, 2);
    const SourceModules pool{{"a", "b"}, {cwps_member(s, a), cwps_member(s, b)}};
    ParamMap p = copy(host);
    for (auto& [name, v] : p) v.requires_grad_(true);
    const auto m = attach_method("cwps", s, p, 4, &pool);
    ComposedWeights child = moved(a, 0.01, 3), parent;
    for (const auto& layer : composed_layers(s))
      for (const auto* name : {&layer.weight, &layer.bias}) {
        if (layer.block == 0) child[*name] = b.at(*name).clone();
        parent[*name] = (layer.block == 0 ? b : a).at(*name);
      }
    {
      at::NoGradGuard guard;
      for (const auto& [name, v] : child) p.at(name).copy_(v);  // what stage 0 would have trained
    }
    const auto split = split_of(t);
    m->begin_stage(1, StageContext{s, p, t, split.train});
    const auto listed = m->modules();
    const std::map<std::string, at::Tensor> modules(listed.begin(), listed.end());
    EXPECT_TRUE(at::equal(modules.at("cwps.parent"), at::tensor({2.0f, 1.0f})));
    EXPECT_EQ(modules.at("cwps.cpms")[0][2].item<float>(), 1.0f);  // the child is B in block 0
    for (const auto& [name, v] : h) EXPECT_TRUE(at::equal(p.at(name), v)) << name << " is not the host's again";
    auto with = [&](const ComposedWeights& w) {
      ParamMap q = copy(p);
      for (const auto& [name, v] : w) q.at(name).copy_(v);
      return target_forward(s, q, batch.inputs);
    };
    at::NoGradGuard guard;
    for (const auto& [name, v] : m->modules())
      if (name.find(".cwps_score") != std::string::npos) v.fill_(0.5);
    EXPECT_TRUE(at::equal(target_forward(s, p, batch.inputs, m->hooks()), with(parent)));
    EXPECT_EQ(m->stored_count() - numel_where(s, [&](const std::string& n) { return s.family().is_classifier(n); }),
              (2 * (3 + 1 + 4 + 1) * kWidth + 31) / 32 + kDepth);  // the mask bits and parent indices alone
    for (const auto& [name, v] : m->modules())
      if (name.find(".cwps_score") != std::string::npos) v.fill_(0.05);
    EXPECT_TRUE(at::equal(target_forward(s, p, batch.inputs, m->hooks()), with(child)));
    EXPECT_FALSE(at::equal(with(child), with(parent)));
  }
}

// A run: only the child's rows, the scores and the head train (the host's own tensors are the host's after it); what it
// stores is its own rows, one bit per row, a parent per block and the head; the merged weights are its model, and a
// later task's run rebuilds exactly that model from what it stored.
TEST_F(Methods, CwpsRunStoresItsOwnRowsAndALaterTaskRebuildsItsModelExactly) {
  for (const bool text : {false, true}) {
    const ArchSpec s = spec(text);
    SCOPED_TRACE(s.str());
    const Task t = task(text);
    const Batch batch = t.load(Split::Test, first_positions(8));
    const ParamMap host = leaves(s, 3);
    const int64_t head = numel_where(s, [&](const std::string& n) { return s.family().is_classifier(n); });
    ParamMap p = copy(host);
    for (auto& [name, v] : p) v.requires_grad_(true);
    const SourceModules none;
    const auto m = attach_method("cwps:init=0.11,lambda=0", s, p, 4, &none);
    const int64_t rows = kDepth * 9 * kWidth;
    EXPECT_EQ(m->trainable_count(), kDepth * (12 * kWidth * kWidth + 9 * kWidth) + rows + head);
    EXPECT_EQ(m->stage_steps(10), (std::vector<int64_t>{2, 8}));
    finetune_run(s, p, t, split_of(t), recipe(10), 3e-2, 5, [] { return false; }, m.get());
    for (const auto& q : param_table(s))
      EXPECT_EQ(!at::equal(p.at(q.name), host.at(q.name)), s.family().is_classifier(q.name)) << q.name;
    int64_t own = 0, stored_rows = 0;
    for (const auto& [name, v] : m->modules()) {
      if (name.find(".cwps_score") != std::string::npos) own += (v < 0.1).sum().item<int64_t>();
      if (name.find(".cwps_rows") != std::string::npos) stored_rows += v.numel();
    }
    EXPECT_GT(own, 0);
    EXPECT_LT(own, rows);  // some rows went back to the parent (the host), some stayed the child's
    EXPECT_EQ(m->stored_count(), stored_rows + (rows + 31) / 32 + kDepth + head);
    ParamMap merged = copy(p);
    m->merge_into(merged);
    at::Tensor unmerged;
    {
      at::NoGradGuard guard;
      unmerged = target_forward(s, p, batch.inputs, m->hooks());
      EXPECT_TRUE(test::all_close("merged CWPS", target_forward(s, merged, batch.inputs), unmerged, 1e-5, 1e-5));
    }
    // A later task whose child is this model (every row it moved has cos 1, so it is every block's parent), masks on.
    ParamMap later = copy(host);
    for (auto& [name, v] : later) v.requires_grad_(true);
    const SourceModules pool{{"first"}, {m->modules()}};
    const auto next = attach_method("cwps", s, later, 4, &pool);
    {
      at::NoGradGuard guard;
      for (const auto& layer : composed_layers(s))
        for (const auto* name : {&layer.weight, &layer.bias}) later.at(*name).copy_(merged.at(*name));
    }
    const auto split = split_of(t);
    next->begin_stage(1, StageContext{s, later, t, split.train});
    at::NoGradGuard guard;
    for (const auto& [name, v] : next->modules())
      if (name.find(".cwps_score") != std::string::npos) v.fill_(0.5);
    const auto listed = next->modules();
    const std::map<std::string, at::Tensor> modules(listed.begin(), listed.end());
    EXPECT_TRUE(at::equal(modules.at("cwps.parent"), at::ones({kDepth})));
    for (const auto& q : param_table(s))  // the same head, to compare the bodies
      if (s.family().is_classifier(q.name)) later.at(q.name).copy_(merged.at(q.name));
    EXPECT_TRUE(at::equal(target_forward(s, later, batch.inputs, next->hooks()), target_forward(s, merged, batch.inputs)));
  }
}

TEST_F(Methods, CwpsRefusesAPoolOfAnotherSpecAndNoPool) {
  const ArchSpec s = spec_of_vit(), wide = ArchSpec::parse("vit:depth=2,width=32,heads=2,patch=4,image=8,channels=3,classes=3");
  ParamMap p = leaves(s, 3), w = leaves(wide, 3);
  const SourceModules other{{"fmnist-tops"}, {cwps_member(wide, composed_weights(wide, w))}};
  EXPECT_NE(error_of([&] { attach_method("cwps", s, p, 4, &other); })
                .find("cwps: the pool model of task 'fmnist-tops': encoder.layers.encoder_layer_0.self_attention.in_proj_weight.cwps_score is [96], not [48]"),
            std::string::npos)
      << error_of([&] { attach_method("cwps", s, p, 4, &other); });
  EXPECT_NE(error_of([&] { attach_method("cwps", s, p, 4); }).find("key 'finetune.methods': 'cwps:lambda=1,tau=0.1,init=0.15,child=0.2' reads the modules of cwps:lambda=1,tau=0.1,init=0.15,child=0.2 runs on the same host"),
            std::string::npos);
  EXPECT_NE(error_of([&] { attach_method("cwps:child=1", s, p, 4, &other); }).find("child=1 (expected the fraction"),
            std::string::npos);
}

TEST(TopChannels, TheKLargestInIndexOrderTiesToTheLowerIndex) {
  const auto v = at::tensor({0.1, 0.9, 0.3, 0.9, 0.0, 0.5}, at::kDouble);
  EXPECT_TRUE(at::equal(top_channels(v, 3), at::tensor({1, 3, 5}, at::kLong)));
  EXPECT_TRUE(at::equal(top_channels(v, 1), at::tensor({1}, at::kLong)));
  EXPECT_TRUE(at::equal(top_channels(at::zeros({4}, at::kDouble), 2), at::tensor({0, 1}, at::kLong)));
}

TEST_F(Methods, StageTwoStartsExactlyAtStageOneAndTouchesOnlyTheSelectedChannels) {
  for (const bool text : {false, true}) {
    const ArchSpec s = spec(text);
    const Task t = task(text);
    const auto split = split_of(t);
    ParamMap p = leaves(s, 8);
    const auto a = attach_method("two-stage:k=3", s, p, 2);
    const Batch b = t.load(Split::Test, first_positions(8));
    at::Tensor stage1;
    {
      at::NoGradGuard guard;
      stage1 = target_forward(s, p, b.inputs, a->hooks());
    }
    a->begin_stage(1, StageContext{s, p, t, split.train});
    at::NoGradGuard guard;
    EXPECT_TRUE(at::equal(target_forward(s, p, b.inputs, a->hooks()), stage1));
    // With arbitrary maps, the residual stream's other channels pass through bitwise.
    for (auto& [n, m] : a->modules())
      if (m.is_floating_point()) m.normal_(0, 1);
    const auto x = at::randn({2, 5, kWidth});
    for (int64_t l = 0; l < kDepth; ++l) {
      const auto y = a->residual(l, x);
      at::Tensor index;
      for (const auto& [n, m] : a->modules())
        if (n == s.family().block_prefix(l) + "channels.index") index = m;
      ASSERT_TRUE(index.defined());
      ASSERT_EQ(index.numel(), 3);
      EXPECT_EQ(std::get<0>(at::_unique(index)).numel(), 3);
      auto others = at::ones({kWidth}, at::kBool);
      others.index_fill_(0, index, false);
      EXPECT_TRUE(at::equal(y.index_select(-1, others.nonzero().view(-1)), x.index_select(-1, others.nonzero().view(-1))));
      EXPECT_FALSE(at::equal(y.index_select(-1, index), x.index_select(-1, index)));
    }
  }
}

TEST_F(Methods, PortedModulesReproduceTheirSourceOnAnIdenticalHostAndSampledOnesKeepTheMoments) {
  for (const bool text : {false, true})
    for (const std::string m : {"lora:r=4", "adapter:m=8"}) {
      SCOPED_TRACE(m);
      const ArchSpec s = spec(text);
      const Task t = task(text);
      ParamMap origin = leaves(s, 3);
      const ParamMap host = copy(origin);
      const auto trained = attach_method(m, s, origin, 4);
      finetune_run(s, origin, t, split_of(t), recipe(), 3e-2, 5, [] { return false; }, trained.get());
      const Batch b = t.load(Split::Test, first_positions(8));
      // An identical host: the origin's frozen tensors, the head as trained.
      ParamMap same = copy(origin);
      const auto ported = attach_method(m, s, same, 99);
      port_modules(*trained, *ported, "ported", 1);
      at::NoGradGuard guard;
      const auto source = target_forward(s, origin, b.inputs, trained->hooks());
      EXPECT_TRUE(at::equal(target_forward(s, same, b.inputs, ported->hooks()), source));
      EXPECT_FALSE(at::equal(target_forward(s, host, b.inputs), source));  // the module and head did something
      // Sampled: each tensor's moments within sampling error, its values not the module's.
      ParamMap other = copy(host);
      const auto sampled = attach_method(m, s, other, 99);
      port_modules(*trained, *sampled, "sampled", 1);
      const auto from = trained->modules(), to = sampled->modules();
      ASSERT_EQ(from.size(), to.size());
      for (size_t i = 0; i < from.size(); ++i) {
        const auto& [name, a] = from[i];
        const auto& x = to[i].second;
        const double n = static_cast<double>(a.numel()), sd = a.std().item<double>();
        if (sd == 0) {
          EXPECT_TRUE(at::equal(x, at::full_like(x, a.mean().item<double>()))) << name;
          continue;
        }
        EXPECT_FALSE(at::equal(x, a)) << name;
        EXPECT_NEAR(x.mean().item<double>(), a.mean().item<double>(), 5 * sd / std::sqrt(n)) << name;
        EXPECT_NEAR(x.std().item<double>(), sd, 5 * sd * std::sqrt(2 / n) + 1e-12) << name;
      }
    }
  // Another width: one line naming the tensor, nothing copied.
  ParamMap narrow = leaves(spec_of_vit(), 1), wide = leaves(ArchSpec::parse("vit:depth=2,width=32,heads=2,patch=4,image=8,channels=3,classes=3"), 1);
  const auto a = attach_method("lora:r=2", spec_of_vit(), narrow, 1);
  const auto b = attach_method("lora:r=2", ArchSpec::parse("vit:depth=2,width=32,heads=2,patch=4,image=8,channels=3,classes=3"), wide, 1);
  const auto before = b->modules().front().second.clone();
  const std::string e = error_of([&] { port_modules(*a, *b, "ported", 0); });
  EXPECT_NE(e.find("porting: tensor 'encoder.layers.encoder_layer_0.lora.q.lora_A.weight' is [2, 16] on the origin host "
                   "and [2, 32] on the destination"), std::string::npos) << e;
  EXPECT_TRUE(at::equal(b->modules().front().second, before));
  EXPECT_NE(error_of([&] { port_modules(*a, *attach_method("adapter", spec_of_vit(), narrow, 1), "ported", 0); })
                .find("porting: the origin host has no tensor 'encoder.layers.encoder_layer_0.adapter.mlp.down.weight'"),
            std::string::npos);
}

TEST(MethodResults, VersionsFourAndFiveRecordMethodAndCountsAndOlderFilesReadAsFull) {
  test::TempDir dir;
  const std::string path = dir.file("finetune.h5");
  FinetuneResults r;
  r.recipe = "steps=4";
  FinetuneCell c;
  c.key = "k1";
  c.task = "txt";
  c.arch = c.spec = c.arch_id = "gpt2:depth=2";
  c.init = "random";
  c.params = 1000;
  c.method = "lora:r=2,alpha=auto,targets=qv";
  c.trainable = 48;
  c.stored = 48;
  c.shared_embeddings = 900;
  c.eval_steps = {0, 4};
  c.accuracy = {0.3, 0.5};
  c.mcc = {0.0, 0.1};
  c.loss = {1, 1, 1, 1};
  r.cells.push_back(c);
  FinetuneCell ported = c;
  ported.key = "k2";
  ported.port = "sampled";
  ported.port_from = "tal/txt";
  ported.stored_shared = 0;
  ported.suite_stored = 324;
  r.cells.push_back(ported);
  write_finetune_results(path, r);
  auto back = read_finetune_results(path);
  ASSERT_EQ(back.cells.size(), 2u);
  EXPECT_EQ(back.cells[1].suite_stored, 324);
  {  // A version 4 file has no suite_stored: nothing stored for the suite.
    H5File f(path, H5File::Mode::ReadWrite);
    f.set_attr("/", "format_version", int64_t{4});
    f.remove_attr("/cells/k2", "suite_stored");
  }
  back = read_finetune_results(path);
  EXPECT_EQ(back.cells[1].suite_stored, 0);
  {
    H5File f(path, H5File::Mode::ReadWrite);
    f.set_attr("/", "format_version", int64_t{5});
  }
  EXPECT_NE(error_of([&] { read_finetune_results(path); }).find("'/cells/k2': missing attribute 'suite_stored'"), std::string::npos)
      << error_of([&] { read_finetune_results(path); });
  write_finetune_results(path, r);
  back = read_finetune_results(path);
  EXPECT_EQ(back.cells[1].port, "sampled");
  EXPECT_EQ(back.cells[1].port_from, "tal/txt");
  EXPECT_EQ(back.cells[1].stored_shared, 0);
  EXPECT_EQ(back.cells[1].variant(), c.method + " sampled from tal/txt");
  {  // The first version-4 files had no porting and no stored_shared: read as not ported, unknown.
    H5File f(path, H5File::Mode::ReadWrite);
    for (const char* a : {"port", "port_from", "stored_shared"}) f.remove_attr("/cells/k2", a);
  }
  back = read_finetune_results(path);
  EXPECT_EQ(back.cells[1].port, "");
  EXPECT_EQ(back.cells[1].stored_shared, -1);
  {
    H5File f(path, H5File::Mode::ReadWrite);
    f.set_attr("/cells/k2", "port", std::string("ported"));
  }
  EXPECT_NE(error_of([&] { read_finetune_results(path); }).find("cell k2: port 'ported' from ''"), std::string::npos);
  {
    H5File f(path, H5File::Mode::ReadWrite);
    f.remove("/cells/k2");
  }
  back = read_finetune_results(path);
  ASSERT_EQ(back.cells.size(), 1u);
  EXPECT_EQ(back.cells[0].method, c.method);
  EXPECT_EQ(back.cells[0].trainable, 48);
  EXPECT_EQ(back.cells[0].stored, 48);
  EXPECT_EQ(back.cells[0].shared_embeddings, 900);
  {
    H5File f(path, H5File::Mode::ReadWrite);
    f.set_attr("/cells/k1", "stored", int64_t{-3});
  }
  const std::string bad = error_of([&] { read_finetune_results(path); });
  EXPECT_NE(bad.find(path + ": cell k1: parameter counts"), std::string::npos) << bad;
  {  // A version 3 file: every cell is full fine-tuning of all its parameters.
    H5File f(path, H5File::Mode::ReadWrite);
    f.set_attr("/", "format_version", int64_t{3});
  }
  back = read_finetune_results(path);
  EXPECT_EQ(back.cells[0].method, "full");
  EXPECT_EQ(back.cells[0].trainable, 1000);
  EXPECT_EQ(back.cells[0].stored, 1000);
  EXPECT_EQ(back.cells[0].shared_embeddings, -1);
}

}  // namespace
}  // namespace tal
