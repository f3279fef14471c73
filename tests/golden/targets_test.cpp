// Functional ViT / GPT-2 forward and backward against PyTorch (fixtures from tests/golden/make_targets.py).
#include <gtest/gtest.h>

#include "datasets/h5.h"
#include "base/error.h"
#include "hypernet/targets.h"
#include "tests/test_util.h"

namespace tal {
namespace {

void check_family(const std::string& family) {
  H5File f(test::golden_dir() + "/targets.h5", H5File::Mode::Read);
  const auto cases = f.children("/" + family);
  ASSERT_FALSE(cases.empty());
  for (const auto& c : cases) {
    const std::string g = "/" + family + "/" + c;
    const ArchSpec spec = ArchSpec::parse(f.attr_str(g, "spec"));
    SCOPED_TRACE(spec.str());
    ParamMap params;
    for (const auto& name : f.children(g + "/weights"))
      params[name] = f.read(g + "/weights/" + name).requires_grad_(true);
    ASSERT_EQ(params.size(), param_table(spec).size());
    for (const auto& p : param_table(spec)) ASSERT_EQ(params.at(p.name).sizes().vec(), p.shape) << p.name;

    auto input = f.read(g + "/input");
    const bool images = spec.family_name() == "vit";
    if (images) input.requires_grad_(true);
    const auto logits = target_forward(spec, params, input);
    const auto ref = f.read(g + "/logits");
    const double scale = ref.abs().max().item<double>();
    EXPECT_TRUE(test::all_close("logits", logits, ref, 1e-5, 1e-5 * scale));

    (logits * f.read(g + "/probe")).sum().backward();
    for (auto& [name, p] : params) {
      const auto expected = f.read(g + "/grads/" + name);
      EXPECT_TRUE(test::all_close("grad " + name, p.grad(), expected, 1e-5,
                                  1e-5 * std::max(expected.abs().max().item<double>(), 1e-12)));
    }
    // The features a task embedding averages, against the reference's own encoder output.
    const auto features = f.read(g + "/features");
    EXPECT_TRUE(test::all_close("features", target_features(spec, params, input.detach()), features, 1e-5,
                                1e-5 * features.abs().max().item<double>()));
    if (images) {
      const auto expected = f.read(g + "/input_grad");
      EXPECT_TRUE(test::all_close("input grad", input.grad(), expected, 1e-5, 1e-5 * expected.abs().max().item<double>()));
    }
  }
}

TEST(TargetsGolden, VitMatchesTorchvision) { check_family("vit"); }
TEST(TargetsGolden, Gpt2MatchesHfLayout) { check_family("gpt2"); }

TEST(TargetsGolden, RejectsMisshapenInputs) {
  const auto spec = ArchSpec::parse("vit:depth=1,width=32,heads=2,patch=4,image=8,channels=1,classes=3");
  const auto params = init_params(spec, 0);
  EXPECT_THROW(target_forward(spec, params, at::randn({2, 3, 8, 8})), Error);
  ParamMap partial = params;
  partial.erase("encoder.ln.weight");
  EXPECT_THROW(target_forward(spec, partial, at::randn({2, 1, 8, 8})), Error);
}

}  // namespace
}  // namespace tal
