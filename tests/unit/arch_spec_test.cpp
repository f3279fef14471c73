#include <gtest/gtest.h>

#include "hypernet/arch_spec.h"
#include "base/error.h"
#include "hypernet/family.h"
#include "hypernet/targets.h"

namespace tal {
namespace {

std::string error_of(const std::string& text) {
  try {
    ArchSpec::parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ArchSpec, ParsesWithFamilyDefaults) {
  const auto s = ArchSpec::parse("vit:depth=6,width=192,heads=3");
  EXPECT_EQ(s.at("depth"), 6);
  EXPECT_EQ(s.at("mlp"), 768);  // 4 * width unless given
  EXPECT_EQ(s.at("patch"), 16);
  EXPECT_EQ(s.at("image"), 224);
  EXPECT_EQ(s.at("classes"), 1000);
  EXPECT_EQ(ArchSpec::parse(s.str()), s);
  EXPECT_EQ(s.id(), "vit-d6-w192-h3-m768-p16-i224-c3-k1000");
  const auto g = ArchSpec::parse("gpt2:depth=2,width=64,heads=4,vocab=100,context=32");
  EXPECT_EQ(g.family_name(), "gpt2");
  EXPECT_EQ(g.at("mlp"), 256);
  EXPECT_EQ(ArchSpec::parse(g.str()), g);
}

// GPT-2 with classes > 0 is HF's GPT2ForSequenceClassification: score [k, width] instead of lm_head, read at the
// last token before the first <|endoftext|>; padding after a text changes neither its logits nor its features.
TEST(Gpt2, SequenceClassificationHeadPoolsTheLastTextToken) {
  const auto spec = ArchSpec::parse("gpt2:depth=2,width=32,heads=4,vocab=50257,context=12,classes=3");
  const auto params = spec.family().params(spec);
  EXPECT_EQ(params.back().name, "score.weight");
  EXPECT_EQ(params.back().shape, (std::vector<int64_t>{3, 32}));
  for (const auto& p : params) EXPECT_NE(p.name, "lm_head.weight");
  EXPECT_TRUE(spec.family().is_classifier("score.weight"));
  const auto w = spec.family().init(spec, 7);
  const auto text = at::tensor({464, 3290, 11, 13, 995}, at::kLong).view({1, -1});
  auto padded = at::full({1, 12}, 50256, at::kLong);
  padded.narrow(1, 0, 5).copy_(text);
  const auto alone = target_forward(spec, w, text), in_batch = target_forward(spec, w, padded);
  EXPECT_EQ(in_batch.sizes().vec(), (std::vector<int64_t>{1, 3}));
  EXPECT_TRUE(at::allclose(alone, in_batch, 1e-5, 1e-6));
  EXPECT_TRUE(at::allclose(target_features(spec, w, text), target_features(spec, w, padded), 1e-5, 1e-6));
  const auto shorter = target_forward(spec, w, text.narrow(1, 0, 4));  // another last token: other logits
  EXPECT_FALSE(at::allclose(alone, shorter, 1e-4, 1e-5));
  // The language-model head is classes=0, the default; one class is no classification.
  EXPECT_EQ(ArchSpec::parse("gpt2:depth=1").at("classes"), 0);
  EXPECT_NE(error_of("gpt2:classes=1").find("key 'classes'"), std::string::npos);
  EXPECT_NE(error_of("gpt2:classes=-2").find("key 'classes'"), std::string::npos);
}

TEST(ArchSpec, RejectsBadSpecsNamingTheKey) {
  EXPECT_NE(error_of("vit:depth=6,width=192,heads=5").find("key 'heads'"), std::string::npos);
  EXPECT_NE(error_of("vit:patch=5").find("key 'patch'"), std::string::npos);
  EXPECT_NE(error_of("vit:depth=0").find("key 'depth'"), std::string::npos);
  EXPECT_NE(error_of("vit:width=-64").find("key 'width'"), std::string::npos);
  EXPECT_NE(error_of("vit:depht=3").find("unknown key 'depht'"), std::string::npos);
  EXPECT_NE(error_of("vit:depth=3x").find("expected an integer"), std::string::npos);
  EXPECT_NE(error_of("resnet:depth=3").find("unknown family"), std::string::npos);
  EXPECT_NE(error_of("gpt2:patch=4").find("unknown key 'patch'"), std::string::npos);
  EXPECT_NE(error_of("vit:depth=3,depth=4").find("given twice"), std::string::npos);
}

TEST(ArchSpec, ParameterCountsMatchTorchvisionAndHf) {
  // torchvision ViT-B/16 has 86,567,656 parameters; ViT-Ti/16 (DeiT-Ti layout) 5,717,416.
  EXPECT_EQ(count_params(ArchSpec::parse("vit:depth=12,width=768,heads=12"), false), 86567656);
  const auto ti = ArchSpec::parse("vit:depth=12,width=192,heads=3,patch=16,image=224,channels=3,classes=1000");
  EXPECT_EQ(count_params(ti, false), 5717416);
  EXPECT_EQ(count_params(ti, true), 5717416 - 192);  // class token not predicted
  // HF GPT-2 small with an untied head: 124,439,808 + 50257*768.
  EXPECT_EQ(count_params(ArchSpec::parse("gpt2:depth=12,width=768,heads=12"), false), 124439808 + 50257 * 768);
  // Channels change only conv_proj's input.
  const auto one = ArchSpec::parse("vit:depth=12,width=192,heads=3,channels=1");
  EXPECT_EQ(count_params(ti, false) - count_params(one, false), 2 * 192 * 16 * 16);
}

}  // namespace
}  // namespace tal

#include <chrono>

#include "base/rng.h"
#include "hypernet/family.h"
#include "hypernet/graph.h"

namespace tal {
namespace {

// Random spec strings and sizes, many near the bounds: each is accepted and its graph built (and parameters
// counted) in under a second, or refused with one line that names the spec. Nothing else (no crash, no hang, no
// multi-line library message).
TEST(ArchSpecProperty, RandomSpecsAreBuiltFastOrRefusedInOneLine) {
  SplitMix rng(20261201);
  const std::vector<std::string> family_texts = {"vit", "gpt2", "vit", "gpt2", "resnet", "", "VIT"};
  int accepted = 0, refused = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::string text = rng.pick(family_texts);
    if (rng.uniform(0, 9) > 0) text += ":";
    const Family* fam = nullptr;
    for (const Family* f : tal::families()) if (f->name() == text.substr(0, text.find(':'))) fam = f;
    const int n = static_cast<int>(rng.uniform(0, 5));
    for (int k = 0; k < n; ++k) {
      std::string key = "depth";
      int64_t max = 256;
      if (fam && rng.uniform(0, 9) > 0) {
        const auto& keys = fam->keys();
        const auto& sk = keys[static_cast<size_t>(rng.uniform(0, static_cast<int64_t>(keys.size()) - 1))];
        key = sk.name;
        max = sk.max;
      } else {
        key = rng.pick(std::vector<std::string>{"depth", "patch", "vocab", "bogus", "", "width="});
      }
      std::string value;
      switch (rng.uniform(0, 7)) {
        case 0: value = std::to_string(max); break;
        case 1: value = std::to_string(max + 1); break;
        case 2: value = std::to_string(rng.uniform(1, std::min<int64_t>(max, 16))); break;
        case 3: value = "0"; break;
        case 4: value = "-" + std::to_string(rng.uniform(1, 100)); break;
        case 5: value = "99999999999999999999999"; break;
        case 6: value = rng.pick(std::vector<std::string>{"x", "", "3.5", "1e3", " 4"}); break;
        default: value = std::to_string(rng.uniform(1, 4) * 4);
      }
      text += (k ? "," : "") + key + "=" + value;
    }
    SCOPED_TRACE(text);
    try {
      const auto t0 = std::chrono::steady_clock::now();
      const ArchSpec spec = ArchSpec::parse(text);
      const Graph g = build_graph(spec);
      count_params(spec, false);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      EXPECT_LT(seconds, 1.0) << g.size() << " nodes";
      for (const auto& k : spec.family().keys()) {
        EXPECT_GE(spec.at(k.name), k.min);
        EXPECT_LE(spec.at(k.name), k.max);
      }
      ++accepted;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      EXPECT_NE(msg.find("spec '"), std::string::npos) << msg;
      ++refused;
    }
  }
  EXPECT_GT(accepted, 40);  // the generator reaches both outcomes
  EXPECT_GT(refused, 40);
}

// The largest graphs the bounds allow still build quickly (the builder is linear in nodes per source).
TEST(ArchSpecProperty, GraphsAtTheDepthBound) {
  for (const char* text : {"vit:depth=256,width=16384,heads=1,mlp=65536,image=4096,patch=1",
                           "gpt2:depth=256,width=16384,heads=256,vocab=1000000,context=65536"}) {
    const auto t0 = std::chrono::steady_clock::now();
    const ArchSpec spec = ArchSpec::parse(text);
    EXPECT_EQ(build_graph(spec).size(), 13 * 256 + (spec.family_name() == "vit" ? 8 : 6));
    EXPECT_GT(count_params(spec, false), int64_t{1} << 36);  // counted in 64 bits, not wrapped
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0);
  }
  EXPECT_THROW(ArchSpec::parse("vit:depth=257"), Error);
}

}  // namespace
}  // namespace tal
