#include <gtest/gtest.h>

#include "base/error.h"
#include "base/hash.h"
#include "hypernet/family.h"
#include "hypernet/hypernet.h"
#include "hypernet/param_binding.h"
#include "hypernet/weight_selection.h"

namespace tal {
namespace {

HypernetConfig tiny(const std::string& variant) {
  HypernetConfig c;
  c.variant = variant;
  c.hidden = 16;
  c.layers = 2;
  c.heads = 2;
  c.rank = 4;
  c.max_ck = 1024;
  c.max_shape = variant == "ghn3" ? 16 : 64;
  c.spatial = 8;
  c.num_classes = 10;
  c.task_dim = 6;
  c.task_layer = variant == "tal" ? 5 : 0;
  return c;
}

const ArchSpec kVit = ArchSpec::parse("vit:depth=1,width=24,heads=2,mlp=48,patch=4,image=8,channels=1,classes=3");

// Central differences in double precision through hypernet -> predicted params -> ViT -> loss.
void gradient_check(const std::string& variant) {
  SCOPED_TRACE(variant);
  Hypernet net(tiny(variant), 3);
  net.to(at::kDouble);
  if (variant == "tal") {  // make the FiLM maps non-zero so their gradient path is exercised
    at::NoGradGuard g;
    for (auto& [name, p] : net.named_parameters())
      if (name.find("TEN") != std::string::npos) p.normal_(0, 0.1);
  }
  const Graph graph = build_graph(kVit);
  const auto images = at::randn({2, 1, 8, 8}, at::kDouble);
  const auto labels = at::tensor({0, 2}, at::kLong);
  const auto task = at::randn({6}, at::kDouble);
  auto loss_fn = [&]() {
    auto params = net.predict({&graph}, variant == "tal" ? task : at::Tensor())[0];
    auto logits = target_forward(kVit, params, images);
    return at::cross_entropy_loss(logits, labels) + 3e-5 * predicted_norm_sum(params);
  };
  auto named = net.named_parameters();
  for (auto& [name, p] : named)
    if (p.grad().defined()) p.grad().zero_();
  loss_fn().backward();
  int checked = 0;
  for (auto& [name, p] : named) {
    // A few entries of every parameter that influences the loss.
    const auto g = p.grad();
    if (!g.defined() || g.abs().max().item<double>() == 0) continue;
    const auto flat_grad = g.flatten();
    const int64_t idx = flat_grad.abs().argmax().item<int64_t>();
    double numeric = 0;
    {
      at::NoGradGuard guard;
      auto flat = p.view({-1});
      const double eps = 1e-6, orig = flat[idx].item<double>();
      flat[idx] = orig + eps;
      const double up = loss_fn().item<double>();
      flat[idx] = orig - eps;
      const double down = loss_fn().item<double>();
      flat[idx] = orig;
      numeric = (up - down) / (2 * eps);
    }
    const double analytic = flat_grad[idx].item<double>();
    EXPECT_NEAR(analytic, numeric, 1e-6 + 1e-5 * std::abs(numeric)) << name << "[" << idx << "]";
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

TEST(HypernetGradient, FiniteDifferencesGhn3) { gradient_check("ghn3"); }
TEST(HypernetGradient, FiniteDifferencesLogah) { gradient_check("logah"); }
TEST(HypernetGradient, FiniteDifferencesTal) { gradient_check("tal"); }

TEST(Hypernet, PredictsEveryParameterWithItsShape) {
  for (const std::string variant : {"ghn3", "logah", "tal"}) {
    Hypernet net(tiny(variant));
    at::NoGradGuard g;
    const ArchSpec wide = ArchSpec::parse("vit:depth=2,width=96,heads=3,patch=4,image=16,channels=3,classes=12");
    const Graph a = build_graph(kVit), b = build_graph(wide);
    const auto preds = net.predict({&a, &b}, variant == "tal" ? at::randn({6}) : at::Tensor());
    ASSERT_EQ(preds.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      const ArchSpec& spec = i == 0 ? kVit : wide;
      for (const auto& p : param_table(spec)) {
        if (!is_predicted(spec, p.name)) continue;
        ASSERT_TRUE(preds[i].count(p.name)) << variant << " " << p.name;
        EXPECT_EQ(preds[i].at(p.name).sizes().vec(), p.shape) << variant << " " << p.name;
        EXPECT_TRUE(preds[i].at(p.name).isfinite().all().item<bool>());
      }
      EXPECT_EQ(preds[i].size() + 1, param_table(spec).size());
      // Predicted ViTs run.
      const auto logits = target_forward(spec, preds[i], at::randn({2, spec.at("channels"), spec.at("image"), spec.at("image")}));
      EXPECT_EQ(logits.size(1), spec.at("classes"));
    }
  }
}

TEST(Hypernet, ZeroFilmTalEqualsLogah) {
  HypernetConfig lc = tiny("logah"), tc = tiny("tal");
  tc.task_layer = 0;
  Hypernet logah(lc, 7), tal(tc, 7);
  const auto lp = logah.named_parameters();
  const auto own = tal.named_parameters();
  tal.load([&](const std::string& name) {
    for (const auto& [n, p] : lp)
      if (n == name) return p.clone();
    for (const auto& [n, p] : own) {  // only the FiLM maps are new, and they start at zero
      if (n != name) continue;
      EXPECT_NE(n.find("TEN"), std::string::npos) << n;
      EXPECT_EQ(p.abs().sum().item<double>(), 0.0) << n;
      return p.clone();
    }
    return at::Tensor();
  });
  at::NoGradGuard g;
  const Graph graph = build_graph(kVit);
  const auto a = logah.predict({&graph})[0];
  const auto b = tal.predict({&graph}, at::randn({6}))[0];
  for (const auto& [name, t] : a) EXPECT_TRUE(at::allclose(t, b.at(name), 0, 0)) << name;
}

TEST(Hypernet, TaskEmbeddingChangesTalPredictions) {
  Hypernet tal(tiny("tal"), 1);
  {
    at::NoGradGuard g;
    for (auto& [name, p] : tal.named_parameters())
      if (name.find("TEN") != std::string::npos) p.normal_(0, 0.05);
  }
  at::NoGradGuard g;
  const Graph graph = build_graph(kVit);
  const auto a = tal.predict({&graph}, at::randn({6}))[0];
  const auto b = tal.predict({&graph}, at::randn({6}))[0];
  EXPECT_FALSE(at::allclose(a.at("heads.head.weight"), b.at("heads.head.weight")));
  EXPECT_THROW(tal.predict({&graph}), Error);                 // tal needs a task
  EXPECT_THROW(tal.predict({&graph}, at::randn({5})), Error);  // of the configured width
}

TEST(HypernetConfig, BadConfigsNameTheKey) {
  auto error_of = [](HypernetConfig c) -> std::string {
    try {
      c.validate("x.yaml");
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  HypernetConfig c;
  c.heads = 7;
  EXPECT_NE(error_of(c).find("key 'hypernet.heads': 7 does not divide hypernet.hidden 64"), std::string::npos);
  c = HypernetConfig();
  c.rank = 0;
  EXPECT_NE(error_of(c).find("key 'hypernet.rank'"), std::string::npos);
  c = HypernetConfig();
  c.variant = "ghn4";
  EXPECT_NE(error_of(c).find("key 'hypernet.variant'"), std::string::npos);
  c = HypernetConfig();
  c.max_ck = 100;
  EXPECT_NE(error_of(c).find("key 'hypernet.max_ck'"), std::string::npos);
}

TEST(ParamBinding, TileRepeatsOutThenInAndCropsCentre) {
  const auto block = at::arange(2 * 3, at::kFloat).view({2, 3});
  const auto t = tile_to(block, {5, 4});
  EXPECT_TRUE(at::equal(t.slice(0, 0, 2).slice(1, 0, 3), block));
  EXPECT_TRUE(at::equal(t.slice(0, 2, 4).slice(1, 0, 3), block));  // out channels repeat
  EXPECT_TRUE(at::equal(t.select(1, 3), t.select(1, 0)));          // then in channels
  const auto conv = at::arange(5 * 5, at::kFloat).view({1, 1, 5, 5});
  const auto c = tile_to(conv, {1, 1, 3, 3});
  EXPECT_EQ(c[0][0][1][1].item<float>(), 12.f);  // centre kept
}

}  // namespace
}  // namespace tal

namespace tal {
namespace {

// The count a configuration's memory estimate rests on, computed without building the modules, is exact.
TEST(HypernetConfig, ParameterCountWithoutBuildingIsExact) {
  std::vector<HypernetConfig> configs;
  for (const char* v : {"ghn3", "logah", "tal"}) {
    configs.push_back(tiny(v));
    HypernetConfig wide = tiny(v);
    wide.hidden = 32;
    wide.layers = 3;
    wide.num_classes = 37;  // a class count inside the channel vocabulary's range changes its size
    wide.spatial = 13;      // and a spatial size above 12 adds odd sizes
    configs.push_back(wide);
  }
  for (const char* v : {"ghn3", "tal"}) {
    HypernetConfig inheriting = tiny(v);
    inheriting.base = "ancestry";
    configs.push_back(inheriting);
  }
  HypernetConfig released;  // GHN-3-T as released: 6,906,632
  released.variant = "ghn3";
  released.max_shape = 64;
  configs.push_back(released);
  for (const auto& c : configs) {
    SCOPED_TRACE(c.describe());
    EXPECT_EQ(c.parameter_count(), Hypernet(c).num_parameters());
  }
  EXPECT_EQ(released.parameter_count(), 6906632);
}

TEST(HypernetConfig, SizesOutsideTheirBoundsAreRefusedBeforeAllocating) {
  HypernetConfig c;
  c.hidden = 100000;
  try {
    c.validate("x.yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x.yaml: key 'hypernet.hidden': 100000 is outside [4, 4096]"), std::string::npos)
        << e.what();
  }
}

// Inheritance (hypernet.base=ancestry): at step 0 (gates at zero) every tensor the ancestry has is exactly its
// weight-selected copy, the class token included; the classifier of another label space is predicted alone; the
// gates get gradients, and once they move the correction shows.
TEST(Hypernet, InheritanceStartsAtWeightSelectionAndLearnsACorrection) {
  const auto ancestry_spec =
      ArchSpec::parse("vit:depth=3,width=32,heads=4,mlp=96,patch=4,image=8,channels=1,classes=5");
  ParamMap ancestry = init_params(ancestry_spec, 11);
  for (auto& [name, t] : ancestry) t = (t.detach() + 0.05 * at::randn(t.sizes())).contiguous();  // "trained"
  HypernetConfig c = tiny("tal");
  c.base = "ancestry";
  Hypernet net(c, 5);
  const Graph graph = build_graph(kVit);  // depth 1, width 24, 3 classes: smaller, another label space
  const auto task = at::randn({c.task_dim});
  EXPECT_THROW(net.predict({&graph}, task), Error);  // no ancestry attached yet
  net.set_base(ancestry_spec, ancestry, "hash");
  EXPECT_EQ(net.base_hash(), "hash");
  const ParamMap p = net.predict({&graph}, task)[0];
  int64_t selected = 0;
  for (const auto& info : param_table(kVit)) {
    SCOPED_TRACE(info.name);
    const auto source = select_tensor(ancestry_spec, ancestry, kVit, info);
    ASSERT_TRUE(p.count(info.name));
    if (source.defined()) {
      EXPECT_TRUE(at::equal(p.at(info.name), source));
      ++selected;
    } else {
      EXPECT_TRUE(info.name.rfind("heads.head.", 0) == 0);  // only the 3-class head has no source
      EXPECT_GT(p.at(info.name).abs().sum().item<double>(), 0.0);  // predicted by the hypernetwork alone
    }
  }
  EXPECT_EQ(selected, static_cast<int64_t>(param_table(kVit).size()) - 2);
  // Gradients reach the gates (and, through the classifier, the decoder).
  const auto images = at::randn({2, 1, 8, 8});
  const auto loss = kVit.family().loss(target_forward(kVit, p, images), at::tensor({0, 2}, at::kLong), 0.0).mean();
  loss.backward();
  at::Tensor gate;
  for (const auto& [name, t] : net.named_parameters())
    if (name == "inherit_gate") gate = t;
  ASSERT_TRUE(gate.defined());
  ASSERT_TRUE(gate.grad().defined());
  EXPECT_GT(gate.grad().abs().sum().item<double>(), 0.0);
  {
    at::NoGradGuard g;
    gate.fill_(0.1);
  }
  const ParamMap moved = net.predict({&graph}, task)[0];
  EXPECT_FALSE(at::equal(moved.at("encoder.layers.encoder_layer_0.mlp.0.weight"),
                         p.at("encoder.layers.encoder_layer_0.mlp.0.weight")));
  // The class token is never predicted: it stays the selected one.
  EXPECT_TRUE(at::equal(moved.at("class_token"), p.at("class_token")));
  // A hypernetwork without inheritance refuses an ancestry.
  Hypernet plain(tiny("tal"), 5);
  EXPECT_THROW(plain.set_base(ancestry_spec, ancestry, "hash"), Error);
}

// base=init: the same residual on the family's own initialisation (seeded by the spec): at step 0 a random start.
TEST(Hypernet, ResidualOnTheFamilyInitStartsAtThatInit) {
  HypernetConfig c = tiny("logah");
  c.base = "init";
  Hypernet net(c, 5);
  const Graph graph = build_graph(kVit);
  const ParamMap p = net.predict({&graph})[0];
  const ParamMap init = init_params(kVit, stable_hash(kVit.str()));
  for (const auto& info : param_table(kVit)) {
    SCOPED_TRACE(info.name);
    ASSERT_TRUE(p.count(info.name));
    EXPECT_TRUE(at::equal(p.at(info.name), init.at(info.name)));
  }
  EXPECT_EQ(c.parameter_count(), net.num_parameters());
  Hypernet other(c, 5);
  const ArchSpec wider = ArchSpec::parse("vit:depth=1,width=32,heads=2,mlp=48,patch=4,image=8,channels=1,classes=3");
  const Graph g2 = build_graph(wider);
  EXPECT_FALSE(at::equal(other.predict({&g2})[0].at("encoder.layers.encoder_layer_0.mlp.0.weight").narrow(1, 0, 24),
                         p.at("encoder.layers.encoder_layer_0.mlp.0.weight")));  // another spec, another init
}

}  // namespace
}  // namespace tal
