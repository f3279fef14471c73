#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hypernet/error.h"
#include "trainer/command_line.h"
#include "trainer/options.h"

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
  const auto path = std::filesystem::temp_directory_path() /
                    ("tal_config_test_" + std::to_string(std::hash<std::string>{}(text)) + ".yaml");
  std::ofstream(path) << text;
  return path.string();
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
