#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "tests/test_util.h"
#include "trainer/config/command_line.h"
#include "trainer/config/shared_options.h"

namespace tal {
namespace {

struct TestOptions {
  RunOptions run;
  ZooOptions zoo;
  int64_t hidden = 64;
  double lr = 3e-4;
  bool ema = false;
  std::vector<std::string> tasks = {"a", "b"};
  void validate(const std::string& origin) const { zoo.validate(origin); }
};

OptionTable<TestOptions> table() {
  OptionTable<TestOptions> t;
  add_run_options(t);
  add_zoo_options(t);
  t.add(opt<TestOptions>("hypernet.hidden", [](auto& o) -> auto& { return o.hidden; }, "width").range(1));
  t.add(opt<TestOptions>("train.lr", [](auto& o) -> auto& { return o.lr; }, "learning rate").alias("--lr"));
  t.add(opt<TestOptions>("train.ema", [](auto& o) -> auto& { return o.ema; }, "EMA").alias("--ema"));
  t.add(opt<TestOptions>("tasks.train", [](auto& o) -> auto& { return o.tasks; }, "tasks"));
  return t;
}

std::string write_yaml(const std::string& text) {
  static const test::TempDir dir;
  static int n = 0;
  const auto path = dir.file("config_" + std::to_string(n++) + ".yaml");
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::vector<std::string>& args) {
  try {
    const auto t = table();
    resolve_options(t, parse_command_line(t, args));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Config, DefaultsThenYamlThenCommandLine) {
  const auto file = write_yaml("run:\n  seed: 5\nhypernet:\n  hidden: 128\ntrain:\n  lr: 0.001\ntasks:\n  train: [x, y, z]\n");
  const auto t = table();
  const auto o = resolve_options(t, parse_command_line(t, {"--config", file, "hypernet.hidden=256", "--ema"}));
  EXPECT_EQ(o.run.seed, 5);
  EXPECT_EQ(o.hidden, 256);  // command line beats YAML
  EXPECT_DOUBLE_EQ(o.lr, 0.001);
  EXPECT_TRUE(o.ema);
  EXPECT_EQ(o.tasks, (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(o.run.dir, "runs/default");  // default kept
}

TEST(Config, UnknownKeysSuggestTheNearest) {
  const auto file = write_yaml("hypernet:\n  hiden: 3\n");
  const auto msg = error_of({"--config", file});
  EXPECT_NE(msg.find(file), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key 'hypernet.hiden'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'hypernet.hidden'"), std::string::npos) << msg;
  EXPECT_NE(error_of({"hidden=3"}).find("did you mean 'hypernet.hidden'"), std::string::npos);
  EXPECT_NE(error_of({"--hidden", "3"}).find("unknown flag '--hidden'"), std::string::npos);
}

TEST(Config, BadValuesNameFileKeyAndExpectation) {
  EXPECT_NE(error_of({"hypernet.hidden=abc"}).find("key 'hypernet.hidden': expected an integer, got 'abc'"),
            std::string::npos);
  EXPECT_NE(error_of({"hypernet.hidden=0"}).find("outside"), std::string::npos);
  EXPECT_NE(error_of({"--family", "resnet"}).find("not one of: vit, gpt2"), std::string::npos);
  EXPECT_NE(error_of({"train.ema=maybe"}).find("expected true or false"), std::string::npos);
  EXPECT_NE(error_of({"--family", "gpt2"}).find("key 'zoo.rules'"), std::string::npos);  // cross-field check
  const auto broken = write_yaml("run: [unclosed\n");
  EXPECT_NE(error_of({"--config", broken}).find("YAML syntax error"), std::string::npos);
  EXPECT_NE(error_of({"--config", "/nonexistent.yaml"}).find("config file not found"), std::string::npos);
}

// A config's aliases are followed within a bound, and its nesting is bounded: an 800-byte alias bomb (9 levels of 9
// aliases: 9^9 keys) is one line naming the file, not gigabytes and "out of memory".
TEST(Config, AliasBombsAndDeepNestingAreRefusedNamingTheFile) {
  std::string bomb = "a0: &a0 {x: 1, y: 1, z: 1, w: 1, v: 1, u: 1, t: 1, s: 1, r: 1}\n";
  for (int i = 1; i < 9; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " {";
    for (int j = 0; j < 9; ++j) bomb += (j ? ", k" : "k") + std::to_string(j) + ": *a" + std::to_string(i - 1);
    bomb += "}\n";
  }
  const auto path = write_yaml(bomb);
  EXPECT_NE(error_of({"--config", path}).find(path + ": more than 100000 YAML nodes once its anchors and aliases are "
                                               "followed"),
            std::string::npos)
      << error_of({"--config", path});
  std::string deep = "run:\n";
  for (int i = 0; i < 40; ++i) deep += std::string(2 * i + 2, ' ') + "k" + std::to_string(i) + ":\n";
  const auto nested = write_yaml(deep);
  EXPECT_NE(error_of({"--config", nested}).find(": nested deeper than 32 levels"), std::string::npos)
      << error_of({"--config", nested});
}

TEST(Config, DumpRoundTrips) {
  const auto t = table();
  const auto o = resolve_options(t, parse_command_line(t, {"hypernet.hidden=96", "tasks.train=p,q"}));
  const auto file = write_yaml(t.dump(o));
  const auto again = resolve_options(t, parse_command_line(t, {"--config", file}));
  EXPECT_EQ(t.dump(again), t.dump(o));
  EXPECT_EQ(again.hidden, 96);
  EXPECT_EQ(again.tasks, (std::vector<std::string>{"p", "q"}));
  EXPECT_NE(t.help().find("hypernet.hidden"), std::string::npos);
  EXPECT_NE(t.help().find("--lr"), std::string::npos);
}

}  // namespace
}  // namespace tal

namespace tal {
namespace {

// A value with ':' (a spec string) is an override when the text before '=' is a key; a spec stays positional.
TEST(Config, OverrideValuesMayHoldSpecs) {
  const auto cl = parse_command_line({"ancestry.arch=vit:depth=2,width=32", "vit:depth=6"}, [](const std::string&) {
    return FlagInfo{};
  });
  ASSERT_EQ(cl.overrides.size(), 1u);
  EXPECT_EQ(cl.overrides[0].key, "ancestry.arch");
  EXPECT_EQ(cl.overrides[0].text, "vit:depth=2,width=32");
  EXPECT_EQ(cl.positionals, std::vector<std::string>{"vit:depth=6"});
}

// The environment feeds the keys a table has, with its own origin in messages.
TEST(Config, EnvironmentSettingsNameTheirVariable) {
  const auto got = environment_settings([](const std::string& k) { return k == "data.memory_limit"; },
                                        [](const char* name) -> const char* {
                                          return std::string(name) == "TAL_DATA_MEMORY_LIMIT" ? "lots" : nullptr;
                                        });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].key, "data.memory_limit");
  try {
    parse_value(OptType::Int, got[0]);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("environment variable TAL_DATA_MEMORY_LIMIT: key 'data.memory_limit': expected an integer"),
              std::string::npos) << e.what();
  }
  EXPECT_TRUE(environment_settings([](const std::string&) { return false; }, [](const char*) { return "1"; }).empty());
}

}  // namespace
}  // namespace tal
