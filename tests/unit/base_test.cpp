// The shared basics: suggestions, the counter-based generator and the stable hash. No LibTorch in this binary.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "base/error.h"
#include "base/hash.h"
#include "base/rng.h"
#include "base/suggest.h"

namespace tal {
namespace {

TEST(Suggest, NearestNameAndChoiceLists) {
  const std::vector<std::string> keys = {"hypernet.hidden", "hypernet.heads", "train.steps"};
  EXPECT_EQ(nearest_name("hypernet.hiden", keys), "hypernet.hidden");
  EXPECT_EQ(nearest_name("hiden", keys), "hypernet.hidden");  // last dotted component
  EXPECT_EQ(nearest_name("completely-different", keys), "");
  EXPECT_EQ(nearest_name("", keys), "");  // an empty key suggests nothing (not the shortest name)
  EXPECT_EQ(join_choices({"a"}), "a");
  EXPECT_EQ(join_choices({"a", "b", "c"}), "a, b or c");
  EXPECT_EQ(did_you_mean("stpes", {"steps", "seed"}), " (did you mean 'steps'?)");
  EXPECT_TRUE(is_one_of("b", {"a", "b"}));
  EXPECT_FALSE(is_one_of("z", {"a", "b"}));
}

// A value echoed in an error is bounded: a 1 MB word is cut to its start and end, the words around it and a long
// path (up to the bound) are kept whole.
TEST(Suggest, ErrorMessagesElideOnlyWordsLongerThanTheBound) {
  const std::string big(1000000, 'x'), path = "/" + std::string(400, 'p') + "/file.h5";
  const std::string message = "f.yaml: key 'train.steps': expected an integer, got '" + big + "' (see " + path + ")";
  const std::string out = elide_long_words(message);
  EXPECT_LT(out.size(), 1200u);
  EXPECT_EQ(out.rfind("f.yaml: key 'train.steps': expected an integer, got 'xxx", 0), 0u);
  EXPECT_NE(out.find("xxx...[999682 bytes]...xxx"), std::string::npos);
  EXPECT_NE(out.find("xxx' (see " + path + ")"), std::string::npos);
  EXPECT_EQ(elide_long_words(path + " " + path), path + " " + path);
}

TEST(Checks, RequireCarriesTheMessageAssertTheLocation) {
  try {
    TAL_REQUIRE(1 + 1 == 3, "key 'x': expected ", 3);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "key 'x': expected 3");
  }
  try {
    TAL_ASSERT(false, "detail");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("internal error: false failed at"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("base_test.cpp"), std::string::npos) << e.what();
  }
}

// Pinned values: a change to the generator or the hash would silently change every zoo, data order and seed.
TEST(SplitMix, IsTheReferenceSplitmix64) {
  SplitMix rng(0);
  EXPECT_EQ(rng.next(), 0xE220A8397B1DCDAFull);  // splitmix64's first output for seed 0
  EXPECT_EQ(mix_seed(1, 2, 3), mix_seed(1, 2, 3));
  std::set<uint64_t> distinct;
  for (uint64_t s = 0; s < 4; ++s)
    for (uint64_t i = 0; i < 100; ++i) distinct.insert(mix_seed(7, s, i));
  EXPECT_EQ(distinct.size(), 400u);
}

TEST(SplitMix, UniformIsUnbiasedEnough) {
  SplitMix rng(42);
  std::vector<int> counts(6);
  for (int i = 0; i < 60000; ++i) counts[static_cast<size_t>(rng.uniform(0, 5))]++;
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);  // > 5 sigma
  EXPECT_THROW(rng.uniform(3, 2), Error);
}

// The values existing files carry (base/hash.h says why the offset basis is not the published one).
TEST(StableHash, KeepsTheValuesFilesWereWrittenWith) {
  EXPECT_EQ(stable_hash(""), 1469598103934665603ull);
  EXPECT_EQ(stable_hash("a"), 4953267810257967366ull);
  EXPECT_EQ(stable_hash_hex("a"), "44bd8ad473cd9906");
  EXPECT_EQ(Fnv1a().add("ab").value(), Fnv1a().add("a").add("b").value());  // incremental == whole
}

}  // namespace
}  // namespace tal
