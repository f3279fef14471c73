// Text stores and the text importers: tables (CSV quoting, TSV), text folders, Debian's fortunes, and what a
// store refuses. The tokenizer's ids themselves are checked against the reference in tests/golden.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "datasets/bpe_tokenizer.h"
#include "datasets/h5.h"
#include "datasets/tasks.h"
#include "datasets/text_importers.h"
#include "datasets/text_store.h"
#include "tests/test_util.h"

namespace tal {
namespace {
namespace fs = std::filesystem;

using test::error_of;

void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

const BpeTokenizer& tokenizer() {
  static const BpeTokenizer t(default_tokenizer_dir());
  return t;
}

TEST(TextTable, CsvQuotingCommasNewlinesAndDoubledQuotes) {
  const auto rows = parse_table("a,b\n\"x, y\",\"say \"\"hi\"\"\nthere\"\r\nplain,2\n\n", ',', "t.csv");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"x, y", "say \"hi\"\nthere"}));
  EXPECT_EQ(rows[2].fields, (std::vector<std::string>{"plain", "2"}));
  EXPECT_EQ(rows[2].line, 4);  // the quoted newline counts
  EXPECT_NE(error_of([] { parse_table("a\n\"open", ',', "t.csv"); }).find("t.csv:2: a quoted field is not closed"),
            std::string::npos);
}

TEST(TextTable, TsvKeepsQuotesAsText) {
  const auto rows = parse_table("s\tl\n\"quoted\" word\t1\n", '\t', "t.tsv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].fields[0], "\"quoted\" word");
}

TEST(TextTable, NamedColumnsNumericClassesAndHeldOutRows) {
  test::TempDir dir;
  std::string csv = "id,sentence,label\n";
  for (int i = 0; i < 10; ++i) csv += std::to_string(i) + ",text number " + std::to_string(i) + "," + (i % 2 ? "10" : "2") + "\n";
  write_file(dir.path() / "t.csv", csv);
  const auto d = import_text_table(dir.file("t.csv"), {{"sentence"}, "label", true}, "", 5);
  EXPECT_EQ(d.classes, (std::vector<std::string>{"2", "10"}));  // numeric order, not text order
  ASSERT_EQ(d.train.size(), 8u);
  ASSERT_EQ(d.test.size(), 2u);
  EXPECT_EQ(d.test[0].text, "text number 4");
  EXPECT_EQ(d.test[0].label, 0);
  EXPECT_EQ(d.test[1].label, 1);
  // Two text columns join with a newline; a missing column and a short row name the file (and line).
  const auto pairs = import_text_table(dir.file("t.csv"), {{"id", "sentence"}, "label", true}, "", 5);
  EXPECT_EQ(pairs.train[0].text, "0\ntext number 0");
  EXPECT_NE(error_of([&] { import_text_table(dir.file("t.csv"), {{"text"}, "label", true}, "", 5); })
                .find("t.csv: no column 'text' in the header (id, sentence, label)"),
            std::string::npos);
  write_file(dir.path() / "short.csv", "s,l\nok,1\nbad\nok,0\n");
  EXPECT_NE(error_of([&] { import_text_table(dir.file("short.csv"), {{"s"}, "l", true}, "", 2); })
                .find("short.csv:3: 1 field(s), the columns need 2"),
            std::string::npos);
}

// Column indices and integer labels from a file or the command line are bounded before any arithmetic on them:
// an index past the rows (even 2^64 - 1, which wrapped to column 0 and read out of bounds) is one line naming the
// file, and labels beyond int64 are still integers in numeric order (they threw "stoll").
TEST(TextTable, HugeColumnIndicesAndLabelsAreBoundedOrOrderedWithoutOverflow) {
  test::TempDir dir;
  write_file(dir.path() / "t.csv", "text,label\na,99999999999999999999\nb,5\nc,-3\nd,-99999999999999999999\ne,5\n");
  for (const std::string index : {"18446744073709551615", "2", "000000000000000000007"})
    EXPECT_NE(error_of([&] { import_text_table(dir.file("t.csv"), {{"text"}, index, true}, "", 2); })
                  .find("t.csv: column " + index + " is past the widest row's 2 field(s)"),
              std::string::npos)
        << index;
  const auto d = import_text_table(dir.file("t.csv"), {{"0"}, "0001", true}, "", 2);
  EXPECT_EQ(d.classes, (std::vector<std::string>{"-99999999999999999999", "-3", "5", "99999999999999999999"}));
}

TEST(TextFolder, ClassesFromSubfoldersWithSeparateSplits) {
  test::TempDir dir;
  for (const char* split : {"train", "test"})
    for (const char* c : {"neg", "pos"})
      for (int i = 0; i < 2; ++i) write_file(dir.path() / split / c / (std::to_string(i) + ".txt"), std::string(c) + " review");
  const auto d = import_text_folder(dir.path().string(), 10);
  EXPECT_EQ(d.classes, (std::vector<std::string>{"neg", "pos"}));
  EXPECT_EQ(d.train.size(), 4u);
  EXPECT_EQ(d.test.size(), 4u);
  EXPECT_EQ(d.test.back().text, "pos review");
  EXPECT_EQ(d.test.back().label, 1);
}

// UTF-16 files (with or without a byte-order mark) are refused, naming the file, not imported as junk tokens; a UTF-8
// byte-order mark is dropped (a table's first header name would otherwise not match).
TEST(TextFolder, Utf16IsRefusedAndAUtf8ByteOrderMarkDropped) {
  test::TempDir dir;
  for (const char* c : {"neg", "pos"})
    for (int i = 0; i < 3; ++i) write_file(dir.path() / c / (std::to_string(i) + ".txt"), std::string(c) + " review");
  auto utf16 = [](const std::string& text, bool bom) {
    std::string out = bom ? std::string("\xFF\xFE", 2) : "";
    for (const char ch : text) out += std::string(1, ch) + std::string(1, '\0');
    return out;
  };
  EXPECT_EQ(import_text_folder(dir.path().string(), 3).train.size(), 4u);
  for (const bool bom : {true, false}) {
    write_file(dir.path() / "pos" / "1.txt", utf16("pos review", bom));
    EXPECT_NE(error_of([&] { import_text_folder(dir.path().string(), 3); })
                  .find("pos/1.txt: is UTF-16 text (" + std::string(bom ? "its byte-order mark" : "a zero byte in every other place")),
              std::string::npos);
  }
  write_file(dir.path() / "pos" / "1.txt", "");  // empty: its own error, not taken for UTF-16
  EXPECT_NE(error_of([&] { import_text_folder(dir.path().string(), 3); }).find("pos/1.txt: empty text"),
            std::string::npos);
  write_file(dir.path() / "pos" / "1.txt", "\xEF\xBB\xBFpos review");
  EXPECT_EQ(import_text_folder(dir.path().string(), 3).train.back().text, "pos review");
  write_file(dir.path() / "t.csv", "\xEF\xBB\xBFtext,label\na,x\nb,y\nc,x\nd,y\n");
  EXPECT_EQ(import_text_table(dir.file("t.csv"), {{"text"}, "label", true}, "", 2).classes.size(), 2u);
}

TEST(Fortunes, EveryIndexedFileIsAClassOfNonEmptyFortunes) {
  const auto d = import_fortunes("/usr/share/games/fortunes", 5);
  EXPECT_GE(d.classes.size(), 10u);  // Debian's fortunes: art, computers, cookie, ...
  EXPECT_NE(std::find(d.classes.begin(), d.classes.end(), "computers"), d.classes.end());
  EXPECT_GT(d.train.size(), 3 * d.test.size());
  for (const auto& t : d.train) {
    ASSERT_FALSE(t.text.empty()) << t.origin;
    ASSERT_EQ(t.text.find("\n%\n"), std::string::npos) << t.origin;  // separators are not text
  }
}

TEST(TextStore, TokenizesTruncatesPadsAndRoundTrips) {
  test::TempDir dir;
  const std::vector<LabelledText> texts = {{"Hello world", 0, "a"}, {"one two three four five six seven", 1, "b"}};
  const auto split = tokenize_split(tokenizer(), texts, 4);
  EXPECT_EQ(split.tokens.sizes(), (at::IntArrayRef{2, 4}));
  EXPECT_EQ(split.lengths[0].item<int>(), 2);
  EXPECT_EQ(split.lengths[1].item<int>(), 4);  // truncated
  EXPECT_EQ(split.tokens[0][0].item<int>(), 15496);
  EXPECT_EQ(split.tokens[0][3].item<int>(), BpeTokenizer::kEndOfText);  // padding
  const TextStoreMeta meta{"t", "test", {"a", "b"}, tokenizer().identity(), tokenizer().vocab_size()};
  write_text_store(dir.file("t.h5"), meta, split, split);
  EXPECT_TRUE(is_text_store(dir.file("t.h5")));
  const TextStore store(dir.file("t.h5"));
  EXPECT_TRUE(store.split(Split::Test).tokens.equal(split.tokens));
  EXPECT_EQ(store.meta().classes, meta.classes);
  EXPECT_EQ(store.max_length(), 4);
  EXPECT_NO_THROW(store.require_tokenizer(tokenizer().identity(), "data/gpt2"));
  EXPECT_NE(error_of([&] { store.require_tokenizer("gpt2-bpe:0000", "DIR"); }).find("re-import"), std::string::npos);
  EXPECT_EQ(error_of([&] { tokenize_split(tokenizer(), {{"", 0, "x.csv:3"}}, 4); }), "x.csv:3: empty text (nothing to tokenize)");
}

// Text tasks: a class subset relabelled 0..k-1, truncation to max_length, and the packed LM corpus: every selected
// text followed by <|endoftext|>, cut into whole sequences, the tokens their own targets.
TEST(TextTask, ClassSubsetTruncationAndPackedCorpus) {
  test::TempDir dir;
  const std::vector<LabelledText> texts = {{"Hello world", 0, "a"}, {"one two three", 1, "b"}, {"four five", 2, "c"},
                                           {"six seven eight nine", 1, "d"}};
  const auto split = tokenize_split(tokenizer(), texts, 6);
  const TextStoreMeta meta{"t", "test", {"x", "y", "z"}, tokenizer().identity(), tokenizer().vocab_size()};
  write_text_store(dir.file("t.h5"), meta, split, split);
  TaskDef def;
  def.name = "yz";
  def.dataset = "t.h5";
  def.classes = {"z", "y"};
  def.max_length = 3;
  const auto tasks = resolve_tasks({def}, dir.path().string());
  const Task& task = tasks[0];
  ASSERT_TRUE(task.is_text());
  EXPECT_EQ(task.size(Split::Train), 3);
  EXPECT_EQ(task.sequence_length(), 3);
  const Batch b = task.load(Split::Train, {0, 1, 2});  // store rows 1, 2, 3
  EXPECT_EQ(b.inputs.scalar_type(), at::kLong);
  EXPECT_TRUE(b.inputs.equal(split.tokens.index_select(0, at::tensor({1, 2, 3}, at::kLong)).narrow(1, 0, 3).to(at::kLong)));
  EXPECT_TRUE(b.labels.equal(at::tensor({1, 0, 1}, at::kLong)));  // y -> 1, z -> 0

  def.pack = true;
  def.classes.clear();
  def.max_length = 4;
  const auto corpus = resolve_tasks({def}, dir.path().string());
  std::vector<int64_t> stream;
  for (int64_t i = 0; i < 4; ++i) {
    const int64_t n = split.lengths[i].item<int>();
    for (int64_t j = 0; j < n; ++j) stream.push_back(split.tokens[i][j].item<int>());
    stream.push_back(BpeTokenizer::kEndOfText);
  }
  const int64_t sequences = static_cast<int64_t>(stream.size()) / 4;
  ASSERT_EQ(corpus[0].size(Split::Train), sequences);
  const Batch lm = corpus[0].load(Split::Train, {sequences - 1});
  EXPECT_TRUE(lm.inputs.equal(at::tensor(std::vector<int64_t>(stream.begin() + 4 * (sequences - 1), stream.begin() + 4 * sequences)).view({1, 4})));
  EXPECT_TRUE(lm.labels.equal(lm.inputs));
  EXPECT_NE(def.hash(), TaskDef{}.hash());

  TaskDef bad = def;
  bad.pack = false;
  bad.max_length = 7;
  EXPECT_NE(error_of([&] { resolve_tasks({bad}, dir.path().string()); }).find("key 'max_length': 7 is longer"), std::string::npos);
  bad.max_length = 0;
  bad.flip = true;
  EXPECT_NE(error_of([&] { resolve_tasks({bad}, dir.path().string()); }).find("are for images"), std::string::npos);
}

TEST(TextStore, RefusesBadContentAndLeavesTheFileUntouched) {
  test::TempDir dir;
  const auto good = tokenize_split(tokenizer(), {{"a b c", 0, "a"}, {"d e", 1, "b"}}, 8);
  const TextStoreMeta meta{"t", "test", {"a", "b"}, tokenizer().identity(), tokenizer().vocab_size()};
  write_text_store(dir.file("t.h5"), meta, good, good);
  const auto before = fs::file_size(dir.file("t.h5"));
  auto bad_label = good;
  bad_label.labels = good.labels.clone();
  bad_label.labels[1] = 2;
  EXPECT_NE(error_of([&] { write_text_store(dir.file("t.h5"), meta, bad_label, good); })
                .find("'/train/labels' holds labels in [0, 2], outside the 2 classes"),
            std::string::npos);
  auto bad_id = good;
  bad_id.tokens = good.tokens.clone();
  bad_id.tokens[0][0] = 60000;
  EXPECT_NE(error_of([&] { write_text_store(dir.file("t.h5"), meta, good, bad_id); })
                .find("60000], outside the vocabulary 0..50256"),
            std::string::npos);
  EXPECT_EQ(fs::file_size(dir.file("t.h5")), before);
  EXPECT_TRUE(TextStore(dir.file("t.h5")).split(Split::Train).tokens.equal(good.tokens));
  // A file edited by hand to hold a bad length is refused on reading, naming the dataset.
  {
    H5File f(dir.file("t.h5"), H5File::Mode::ReadWrite);
    f.remove("/test/lengths");
    f.write("/test/lengths", at::tensor({9, 1}, at::kInt));
  }
  EXPECT_NE(error_of([&] { TextStore s(dir.file("t.h5")); }).find("'/test/lengths' holds [1, 9], outside 1..8"),
            std::string::npos);
}

}  // namespace
}  // namespace tal
