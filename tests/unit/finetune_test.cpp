// Weight selection (the ancestry-select initialisation) and the fine-tuning results file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <tuple>

#include "base/error.h"
#include "datasets/h5.h"
#include "hypernet/arch_spec.h"
#include "tests/test_util.h"
#include "trainer/files/finetune_results.h"
#include "trainer/config/commands.h"
#include "trainer/finetune/finetune.h"
#include "trainer/finetune/initializers.h"
#include "trainer/finetune/reconcile.h"
#include "trainer/finetune/run_record.h"
#include "hypernet/weight_selection.h"

namespace tal {
namespace {

const char* kLarge = "vit:depth=4,width=64,heads=4,mlp=128,patch=4,image=28,channels=1,classes=10";

TEST(WeightSelection, EvenlySpacedIndices) {
  EXPECT_EQ(evenly_spaced(8, 4), (std::vector<int64_t>{0, 2, 4, 6}));
  EXPECT_EQ(evenly_spaced(10, 3), (std::vector<int64_t>{0, 3, 6}));
  EXPECT_EQ(evenly_spaced(5, 5), (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

TEST(WeightSelection, FirstLayersEvenlySpacedElementsAndQkvPartByPart) {
  const auto large_spec = ArchSpec::parse(kLarge);
  const auto small_spec = ArchSpec::parse("vit:depth=2,width=32,heads=2,mlp=64,patch=4,image=28,channels=1,classes=10");
  const auto large = init_params(large_spec, 1), fallback = init_params(small_spec, 2);
  SelectionReport rep;
  const auto out = select_weights(large_spec, large, small_spec, fallback, &rep);
  ASSERT_EQ(out.size(), param_table(small_spec).size());
  EXPECT_TRUE(rep.kept.empty()) << rep.kept.front();
  // Layer 1 of the smaller model is layer 1 of the larger: mlp.0.weight [64, 32] from [128, 64], rows and columns
  // 0, 2, 4, ...
  const auto& big = large.at("encoder.layers.encoder_layer_1.mlp.0.weight");
  const auto& got = out.at("encoder.layers.encoder_layer_1.mlp.0.weight");
  ASSERT_EQ(got.sizes().vec(), (std::vector<int64_t>{64, 32}));
  EXPECT_EQ(got[5][7].item<float>(), big[10][14].item<float>());
  // in_proj_weight [3 * 32, 32] from [3 * 64, 64]: q, k and v stay in their blocks (the k block's row 3 is the
  // larger k block's row 6).
  const auto& qkv_big = large.at("encoder.layers.encoder_layer_0.self_attention.in_proj_weight");
  const auto& qkv = out.at("encoder.layers.encoder_layer_0.self_attention.in_proj_weight");
  EXPECT_EQ(qkv[32 + 3][4].item<float>(), qkv_big[64 + 6][8].item<float>());
  EXPECT_EQ(qkv[2 * 32 + 31][0].item<float>(), qkv_big[2 * 64 + 62][0].item<float>());
  // The same class count: the classifier is selected too.
  EXPECT_EQ(out.at("heads.head.weight")[9][31].item<float>(), large.at("heads.head.weight")[9][62].item<float>());
}

TEST(WeightSelection, ClassifierOfOtherClassesAndMissingLayersKeepTheFallback) {
  const auto large_spec = ArchSpec::parse(kLarge);
  const auto small_spec = ArchSpec::parse("vit:depth=6,width=32,heads=2,mlp=256,patch=4,image=28,channels=1,classes=3");
  const auto large = init_params(large_spec, 1), fallback = init_params(small_spec, 2);
  SelectionReport rep;
  const auto out = select_weights(large_spec, large, small_spec, fallback, &rep);
  EXPECT_TRUE(out.at("heads.head.weight").equal(fallback.at("heads.head.weight")));
  EXPECT_TRUE(out.at("encoder.layers.encoder_layer_5.ln_1.weight").equal(fallback.at("encoder.layers.encoder_layer_5.ln_1.weight")));
  // mlp 256 > the larger's 128: that tensor cannot be selected; the layer's attention can.
  EXPECT_TRUE(out.at("encoder.layers.encoder_layer_0.mlp.0.weight").equal(fallback.at("encoder.layers.encoder_layer_0.mlp.0.weight")));
  EXPECT_FALSE(out.at("encoder.layers.encoder_layer_0.self_attention.out_proj.weight")
                   .equal(fallback.at("encoder.layers.encoder_layer_0.self_attention.out_proj.weight")));
  bool named = false;
  for (const auto& k : rep.kept) named |= k.find("heads.head.weight (classifier of other classes)") != std::string::npos;
  EXPECT_TRUE(named);
  // The selected and kept tensors are copies: training the descendant cannot touch the ancestry.
  EXPECT_NE(out.at("encoder.ln.weight").data_ptr(), large.at("encoder.ln.weight").data_ptr());
}

TEST(FinetuneResults, StepsToFractionsOfTheBestInitialisationsMeanFinal) {
  FinetuneResults r;
  r.fractions = {0.5, 0.9, 1.0};
  auto cell = [](std::string init, int64_t seed, std::vector<double> acc) {
    FinetuneCell c;
    c.key = init + std::to_string(seed);
    c.task = "t";
    c.arch_id = "a";
    c.init = init;
    c.seed = seed;
    c.eval_steps = {0, 10, 20};
    c.accuracy = std::move(acc);
    c.loss = {1.0};
    return c;
  };
  r.cells = {cell("x", 0, {0.1, 0.5, 0.8}), cell("x", 1, {0.1, 0.6, 0.8}), cell("y", 0, {0.3, 0.45, 0.6})};
  // A run at a rate validation did not choose does not set the best, however well it did on test.
  FinetuneCell unchosen = cell("x", 0, {0.1, 0.9, 0.99});
  unchosen.key = "x-other-rate";
  unchosen.lr = 1.0;
  unchosen.val_accuracy = -2;  // worse than the others (no validation score: -1)
  r.cells.push_back(unchosen);
  compute_steps_to(r);  // best mean final at the chosen rates: x's 0.8; targets 0.4, 0.72, 0.8
  EXPECT_EQ(r.cells[0].steps_to, (std::vector<int64_t>{10, 20, 20}));
  EXPECT_EQ(r.cells[2].steps_to, (std::vector<int64_t>{10, -1, -1}));
  r.cells.pop_back();
  r.cells[1].lr = 3e-3;
  r.cells[1].head = "reset";
  r.cells[1].task_kind = "class-disjoint";
  r.cells[1].heldout = true;
  r.cells[1].in_zoo = true;
  r.cells[1].val_accuracy = 0.75;
  r.cells[1].val_mcc = 0.5;

  test::TempDir dir;
  const std::string path = dir.file("finetune.h5");
  r.recipe = "steps=20";
  write_finetune_results(path, r);
  const auto back = read_finetune_results(path);
  ASSERT_EQ(back.cells.size(), 3u);
  EXPECT_EQ(back.recipe, "steps=20");
  EXPECT_EQ(back.cells[2].accuracy, r.cells[2].accuracy);
  EXPECT_EQ(back.cells[2].steps_to, r.cells[2].steps_to);
  // Version 3: the protocol's fields.
  const auto it = std::find_if(back.cells.begin(), back.cells.end(), [](const FinetuneCell& c) { return c.key == "x1"; });
  ASSERT_NE(it, back.cells.end());
  EXPECT_EQ(it->lr, 3e-3);
  EXPECT_EQ(it->head, "reset");
  EXPECT_EQ(it->task_kind, "class-disjoint");
  EXPECT_TRUE(it->in_zoo);
  EXPECT_EQ(it->val_accuracy, 0.75);
  EXPECT_EQ(it->val_mcc, 0.5);
  {  // A version 2 file has none of them: one rate, no head choice, kinds from the held-out flag.
    H5File f(path, H5File::Mode::ReadWrite);
    f.set_attr("/", "format_version", int64_t{2});
  }
  const auto v2 = read_finetune_results(path);
  for (const auto& c : v2.cells) {
    EXPECT_EQ(c.head, "own");
    EXPECT_EQ(c.task_kind, c.heldout ? "held-out" : "seen");
  }
  EXPECT_THROW(read_finetune_results(dir.file("missing.h5")), Error);
}

// Dealing the pending runs out over 1..8 ranks in rounds: every run exactly once, each round's runs adjacent in the
// cost order (so of similar cost), and the same rounds whatever the rank asking.
// The rules of resuming a grid from its results file (reconcile.h), one by one.
FinetuneCell run_of_cell(const std::string& key, const std::string& task, int64_t seed, bool with_mcc) {
  FinetuneCell c;
  c.key = key;
  c.task = task;
  c.spec = "vit:depth=2";
  c.init = "tal";
  c.seed = seed;
  c.lr = 0.001;
  c.accuracy = {0.1, 0.5};
  if (with_mcc) c.mcc = {0.0, 0.3};
  return c;
}

TEST(FinetuneGrid, ReconcilesAnEarlierResultsFile) {
  // The grid: seed 0 and 1 of task a (MCC wanted), seed 0 of task b (no MCC: a corpus).
  std::vector<GridCell> grid;
  for (auto [key, task, seed, mcc] : std::vector<std::tuple<std::string, std::string, int64_t, bool>>{
           {"k-a0", "a", 0, true}, {"k-a1", "a", 1, true}, {"k-b0", "b", 0, false}}) {
    GridCell g{run_of_cell(key, task, seed, false), mcc};
    g.meta.metric = "mcc";
    g.meta.task_kind = "class-disjoint";
    g.meta.heldout = true;
    g.meta.in_zoo = true;
    grid.push_back(g);
  }
  FinetuneResults file;
  file.recipe = "steps=60";
  file.cells = {run_of_cell("k-a0", "a", 0, true),         // kept, and takes the grid's facts
                run_of_cell("old-a1", "a", 1, true),       // made from another checkpoint: dropped
                run_of_cell("k-b0", "b", 0, false),        // no MCC, none wanted: kept
                run_of_cell("k-other", "c", 0, true)};     // another grid's run: kept as it is
  auto r = reconcile_results(file, "steps=60", grid, "f.h5");
  EXPECT_EQ(r.done, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(r.other_checkpoint, 1u);
  EXPECT_EQ(r.without_mcc, 0u);
  ASSERT_EQ(r.results.cells.size(), 3u);
  EXPECT_EQ(r.results.cells[0].metric, "mcc");
  EXPECT_EQ(r.results.cells[0].task_kind, "class-disjoint");
  EXPECT_TRUE(r.results.cells[0].heldout && r.results.cells[0].in_zoo);
  EXPECT_EQ(r.results.cells[2].key, "k-other");
  EXPECT_EQ(r.results.cells[2].metric, "accuracy");  // not this grid's: untouched

  // A run with no MCC curve where the grid wants one (a version 1 file) is run again.
  file.cells = {run_of_cell("k-a0", "a", 0, false)};
  r = reconcile_results(file, "steps=60", grid, "f.h5");
  EXPECT_EQ(r.done, (std::vector<bool>{false, false, false}));
  EXPECT_EQ(r.without_mcc, 1u);
  EXPECT_TRUE(r.results.cells.empty());

  // Another recipe: refused in one line naming the file; an empty file of another recipe is not.
  file.cells = {run_of_cell("k-a0", "a", 0, true)};
  try {
    reconcile_results(file, "steps=120", grid, "runs/x/finetune.h5");
    ADD_FAILURE() << "another recipe was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("runs/x/finetune.h5: holds 1 runs made with another recipe (steps=60)"),
              std::string::npos) << e.what();
  }
  file.cells.clear();
  EXPECT_NO_THROW(reconcile_results(file, "steps=120", grid, "f.h5"));

  // A method this build does not know (a newer build's, or an edited file): refused in one line naming the run; a
  // file of other known methods (another method set) is resumed, its runs kept as another grid's.
  file.cells = {run_of_cell("k-a0", "a", 0, true), run_of_cell("k-x", "a", 0, true)};
  file.cells[1].method = "not-yet-built:x=1";
  EXPECT_NE(test::error_of([&] { reconcile_results(file, "steps=60", grid, "runs/x/finetune.h5"); })
                .find("runs/x/finetune.h5: run k-x records method 'not-yet-built:x=1', which this build does not "
                      "know (it knows full, head"),
            std::string::npos);
  file.cells[1].method = "lora:r=2,alpha=auto,targets=qv";
  r = reconcile_results(file, "steps=60", grid, "f.h5");
  EXPECT_EQ(r.done, (std::vector<bool>{true, false, false}));
  EXPECT_EQ(r.results.cells.size(), 2u);
}

// A round's record goes through the gather unchanged; shorter curves are padded, a wrong length is refused.
TEST(FinetuneGrid, RunRecordRoundTrip) {
  RunOutcome run;
  run.completed = true;
  run.accuracy = {0.1, 0.4, 0.7};
  run.mcc = {0.0, 0.2};
  run.loss = {2.0, 1.5, 1.0, 0.5};
  run.val_accuracy = 0.65;
  run.val_mcc = 0.3;
  auto rec = RunRecord::of(7, run, 1.25, 40.5, BodyStats{0.9, 5.5, 0.02});
  rec.failed = false;
  rec.stored = 123456789;
  const auto back = RunRecord::unpack(rec.pack(3, 4), 3, 4);
  EXPECT_EQ(back.stored, 123456789);
  EXPECT_TRUE(back.present && back.completed && !back.failed);
  EXPECT_EQ(back.cell, 7);
  EXPECT_DOUBLE_EQ(back.seconds, 1.25);
  EXPECT_DOUBLE_EQ(back.init_ms, 40.5);
  EXPECT_DOUBLE_EQ(back.val_accuracy, 0.65);
  EXPECT_DOUBLE_EQ(back.val_mcc, 0.3);
  EXPECT_DOUBLE_EQ(back.body.stable_rank, 5.5);
  EXPECT_EQ(back.accuracy, run.accuracy);
  EXPECT_EQ(back.mcc, (std::vector<double>{0.0, 0.2, 0.0}));
  EXPECT_EQ(back.loss, run.loss);
  const auto none = RunRecord::unpack(RunRecord().pack(3, 4), 3, 4);
  EXPECT_FALSE(none.present);
  EXPECT_EQ(none.cell, -1);
  EXPECT_EQ(none.stored, -1);
  EXPECT_THROW(RunRecord::unpack(rec.pack(3, 4), 3, 5), Error);
}

TEST(FinetuneGrid, EveryRunExactlyOnceOnOneToEightRanks) {
  for (size_t pending : {0u, 1u, 7u, 24u, 216u})
    for (int world = 1; world <= 8; ++world) {
      std::vector<int> taken(pending, 0);
      const size_t rounds = rounds_for(pending, world);
      for (size_t round = 0; round < rounds; ++round) {
        int64_t lo = -1, hi = -1;
        for (int rank = 0; rank < world; ++rank) {
          const int64_t run = run_of(pending, world, rank, round);
          if (run < 0) continue;
          ++taken[static_cast<size_t>(run)];
          lo = lo < 0 ? run : std::min(lo, run);
          hi = std::max(hi, run);
        }
        EXPECT_LT(hi - lo, world) << "round " << round << " spans more than one slot per rank";
      }
      for (size_t i = 0; i < pending; ++i) EXPECT_EQ(taken[i], 1) << "run " << i << " of " << pending << " on " << world;
      if (pending > 0) {
        EXPECT_EQ(run_of(pending, world, 0, rounds), -1);  // nothing after the last round
      }
    }
}

// The option's help lists the initialisations by hand (the option table sits below the registry): it names every one
// the registry has, so neither can change alone.
TEST(FinetuneInits, TheOptionHelpNamesEveryRegisteredInitialisation) {
  const std::string help = command_table("finetune").help();
  const auto at = help.find("finetune.inits");
  ASSERT_NE(at, std::string::npos);
  const std::string line = help.substr(at, help.find('\n', help.find("initialisations:", at)) - at);
  for (const auto& name : finetune_init_names()) EXPECT_NE(line.find(" " + name), std::string::npos) << name;
  EXPECT_EQ(split_init_name("tal>fmnist-bags").base, "tal");
  EXPECT_EQ(split_init_name("tal>fmnist-bags").tuned_on, "fmnist-bags");
  EXPECT_EQ(split_init_name("random").tuned_on, "");
  for (const std::string bad : {"tal>", "tal>a>b", ">a"})
    EXPECT_NE(test::error_of([&] { check_init_name(bad); }).find("key 'finetune.inits'"), std::string::npos) << bad;
}

}  // namespace
}  // namespace tal
