#include <gtest/gtest.h>

#include <set>

#include "base/error.h"
#include "hypernet/family.h"
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
    depths.insert(s.at("depth"));
    ASSERT_GE(s.at("depth"), 3);
    ASSERT_LE(s.at("depth"), 9);
    if (s.at("depth") > 5) ASSERT_TRUE(s.at("width") >= 128 && s.at("width") <= 256) << s.str();
    else if (s.at("depth") >= 4) ASSERT_TRUE(s.at("width") >= 256 && s.at("width") <= 384) << s.str();
    else ASSERT_TRUE(s.at("width") >= 384 && s.at("width") <= 512) << s.str();
    ASSERT_EQ(s.at("width") % 32, 0);
    ASSERT_EQ(s.at("mlp"), 4 * s.at("width"));
    ASSERT_TRUE(s.at("patch") == 2 || s.at("patch") == 4);
    if (s.at("width") % 12 == 0) ASSERT_TRUE(s.at("heads") == 3 || s.at("heads") == 6 || s.at("heads") == 12) << s.str();
    else if (s.at("width") % 6 == 0) ASSERT_TRUE(s.at("heads") == 3 || s.at("heads") == 6) << s.str();
    else if (s.at("width") % 3 == 0) { ASSERT_EQ(s.at("heads"), 3); }
    else ASSERT_TRUE(s.at("heads") == 4 || s.at("heads") == 8) << s.str();
  }
  EXPECT_EQ(depths.size(), 7u);  // every depth 3..9 drawn in 1000 samples
}

TEST(Zoo, OtherRulesAndProfiles) {
  ZooRules plus;
  plus.rules = "vits+-1k";
  for (const auto& s : sample_zoo(plus, 1, 300)) {
    ASSERT_TRUE(s.at("depth") >= 3 && s.at("depth") <= 12);
    ASSERT_TRUE(s.at("width") >= 192 && s.at("width") <= 768 && s.at("width") % 64 == 0) << s.str();
  }
  ZooRules gpt;
  gpt.rules = "gpts-1k";
  for (const auto& s : sample_zoo(gpt, 1, 300)) {
    ASSERT_EQ(s.family_name(), "gpt2");
    ASSERT_EQ(s.at("heads"), 8);
    ASSERT_LE(count_params(s, false), 50'000'000);
    if (s.at("depth") == 3) {
      ASSERT_GE(s.at("width"), 176);
    }
  }
  ZooRules small;
  small.profile = "cpu-small";
  small.data.height = small.data.width = 28;
  small.data.channels = 1;
  for (const auto& s : sample_zoo(small, 3, 300)) {
    ASSERT_TRUE(s.at("depth") >= 3 && s.at("depth") <= 6);
    ASSERT_TRUE(s.at("width") >= 64 && s.at("width") <= 192);
    ASSERT_EQ(s.at("patch"), 4);
    ASSERT_EQ(s.at("channels"), 1);
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
  r.data.height = r.data.width = 7;  // neither patch 2 nor 4 divides 7
  EXPECT_THROW(sample_arch(r, 0, 0), Error);
}

}  // namespace
}  // namespace tal
