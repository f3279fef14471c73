#include <gtest/gtest.h>

#include "hypernet/arch_spec.h"
#include "base/error.h"

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
