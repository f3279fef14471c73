// GHN-3's decoder for kernels larger than its block (hypernet.spatial): the whole block, cropped to the key's
// channels, upsampled bilinearly to the kernel's size (align_corners false), as the reference does.
#include <gtest/gtest.h>

#include "base/error.h"
#include "hypernet/hypernet.h"
#include "hypernet/modules.h"

namespace tal {
namespace {

TEST(Ghn3Decoder, AKernelLargerThanTheBlockIsTheWholeBlockUpsampledBilinearly) {
  torch::manual_seed(0);
  modules::TiledDecoder decoder(int64_t{16}, std::array<int64_t, 4>{16, 16, 8, 8}, int64_t{10});
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 16});
  const auto big = decoder->forward(x, {16, 12, 12, 12}, false);
  const auto block = decoder->forward(x, {16, 12, 8, 8}, false);  // the whole block
  ASSERT_EQ(big.sizes().vec(), (std::vector<int64_t>{2, 16, 12, 12, 12}));
  const auto expected =
      at::upsample_bilinear2d(block.reshape({2 * 16, 12, 8, 8}), {12, 12}, false).view({2, 16, 12, 12, 12});
  EXPECT_TRUE(big.allclose(expected, 1e-6, 1e-7));
  // Not a crop of it, nor nearest-neighbour: the corners are interpolated.
  EXPECT_FALSE(big.narrow(3, 2, 8).narrow(4, 2, 8).allclose(block, 1e-3, 1e-4));
  // The class head reads the centre of the upsampled kernel.
  const auto cls = decoder->forward(x, {16, 12, 12, 12}, true);
  EXPECT_EQ(cls.sizes().vec(), (std::vector<int64_t>{2, 10, 12}));
  // Larger on one side only has no reference behaviour.
  EXPECT_THROW(decoder->forward(x, {16, 12, 12, 4}, false), Error);
}

TEST(Ghn3Decoder, PredictsAViTWhosePatchIsLargerThanItsBlock) {
  HypernetConfig c;
  c.variant = "ghn3";
  c.hidden = 16;
  c.layers = 1;
  c.heads = 2;
  c.max_shape = 16;
  c.spatial = 8;
  c.num_classes = 10;
  Hypernet net(c, 1);
  const auto spec = ArchSpec::parse("vit:depth=1,width=24,heads=2,mlp=48,patch=12,image=24,channels=3,classes=3");
  const Graph g = build_graph(spec);
  at::NoGradGuard no_grad;
  const auto p = net.predict({&g})[0];
  EXPECT_EQ(p.at("conv_proj.weight").sizes().vec(), (std::vector<int64_t>{24, 3, 12, 12}));
  EXPECT_TRUE(p.at("conv_proj.weight").isfinite().all().item<bool>());
}

}  // namespace
}  // namespace tal
