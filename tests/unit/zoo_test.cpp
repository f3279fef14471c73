#include <gtest/gtest.h>

#include <set>

#include "hypernet/error.h"
#include "hypernet/zoo.h"

namespace tal {
namespace {

TEST(Zoo, IsAPureFunctionOfSeedAndIndex) {
  ZooRules r;
  const auto a = sample_zoo(r, 7, 50);
  const auto b = sample_zoo(r, 7, 50);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(a[i], b[i]);
    EXPECT_EQ(sample_arch(r, 7, static_cast<uint64_t>(i)), a[i]);  // no dependence on earlier draws
  }
  const auto c = sample_zoo(r, 8, 50);
  int same = 0;
  for (int i = 0; i < 50; ++i) same += a[i] == c[i];
  EXPECT_LT(same, 25);
}

TEST(Zoo, Vits1kFollowsLogahRules) {
  ZooRules r;  // vits-1k, paper, 32x32 CIFAR-like
  std::set<int64_t> depths;
  for (const auto& s : sample_zoo(r, 0, 1000)) {
    depths.insert(s.depth);
    ASSERT_GE(s.depth, 3);
    ASSERT_LE(s.depth, 9);
    if (s.depth > 5) ASSERT_TRUE(s.width >= 128 && s.width <= 256) << s.str();
    else if (s.depth >= 4) ASSERT_TRUE(s.width >= 256 && s.width <= 384) << s.str();
    else ASSERT_TRUE(s.width >= 384 && s.width <= 512) << s.str();
    ASSERT_EQ(s.width % 32, 0);
    ASSERT_EQ(s.mlp, 4 * s.width);
    ASSERT_TRUE(s.patch == 2 || s.patch == 4);
    if (s.width % 12 == 0) ASSERT_TRUE(s.heads == 3 || s.heads == 6 || s.heads == 12) << s.str();
    else if (s.width % 6 == 0) ASSERT_TRUE(s.heads == 3 || s.heads == 6) << s.str();
    else if (s.width % 3 == 0) { ASSERT_EQ(s.heads, 3); }
    else ASSERT_TRUE(s.heads == 4 || s.heads == 8) << s.str();
  }
  EXPECT_EQ(depths.size(), 7u);  // every depth 3..9 drawn in 1000 samples
}

TEST(Zoo, OtherRulesAndProfiles) {
  ZooRules plus;
  plus.rules = "vits+-1k";
  for (const auto& s : sample_zoo(plus, 1, 300)) {
    ASSERT_TRUE(s.depth >= 3 && s.depth <= 12);
    ASSERT_TRUE(s.width >= 192 && s.width <= 768 && s.width % 64 == 0) << s.str();
  }
  ZooRules gpt;
  gpt.rules = "gpts-1k";
  for (const auto& s : sample_zoo(gpt, 1, 300)) {
    ASSERT_EQ(s.family, Family::Gpt2);
    ASSERT_EQ(s.heads, 8);
    ASSERT_LE(count_params(s, false), 50'000'000);
    if (s.depth == 3) ASSERT_GE(s.width, 176);
  }
  ZooRules small;
  small.profile = "cpu-small";
  small.image = 28;
  small.channels = 1;
  for (const auto& s : sample_zoo(small, 3, 300)) {
    ASSERT_TRUE(s.depth >= 3 && s.depth <= 6);
    ASSERT_TRUE(s.width >= 64 && s.width <= 192);
    ASSERT_EQ(s.patch, 4);
    ASSERT_EQ(s.channels, 1);
  }
}

TEST(Zoo, RejectsUnknownRules) {
  ZooRules r;
  r.rules = "vits-2k";
  EXPECT_THROW(sample_arch(r, 0, 0), Error);
  r.rules = "vits-1k";
  r.profile = "huge";
  EXPECT_THROW(sample_arch(r, 0, 0), Error);
  r.profile = "paper";
  r.image = 30;  // neither patch 2 nor 4 ... 2 divides 30; 7 would not
  r.image = 7;
  EXPECT_THROW(sample_arch(r, 0, 0), Error);
}

TEST(SplitMix, UniformIsUnbiasedEnough) {
  SplitMix rng(42);
  std::vector<int> counts(6);
  for (int i = 0; i < 60000; ++i) counts[static_cast<size_t>(rng.uniform(0, 5))]++;
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);  // > 5 sigma
}

}  // namespace
}  // namespace tal
