#include "datasets/text_store.h"

#include <algorithm>
#include <filesystem>

#include "base/error.h"
#include "datasets/atomic_file.h"
#include "datasets/bpe_tokenizer.h"
#include "datasets/h5.h"
#include "datasets/h5_check.h"

namespace tal {
namespace {

void check_split(const std::string& path, const char* split, const TextSplit& d, int64_t classes, int64_t vocab) {
  const std::string where = path + ": '/" + split;
  TAL_REQUIRE(d.tokens.dim() == 2 && d.tokens.scalar_type() == at::kInt, where, "/tokens' must be int32 [N, L]");
  TAL_REQUIRE(d.lengths.dim() == 1 && d.lengths.scalar_type() == at::kInt, where, "/lengths' must be int32 [N]");
  TAL_REQUIRE(d.labels.dim() == 1, where, "/labels' must be [N]");
  const int64_t n = d.tokens.size(0);
  TAL_REQUIRE(n > 0, where, "' is empty (no texts)");
  TAL_REQUIRE(d.tokens.size(1) > 0, where, "/tokens' has no columns");
  TAL_REQUIRE(d.lengths.size(0) == n && d.labels.size(0) == n, where, "/lengths' and '/labels' need one entry per "
              "text (", n, "), have ", d.lengths.size(0), " and ", d.labels.size(0));
  const auto lmin = d.lengths.min().item<int64_t>(), lmax = d.lengths.max().item<int64_t>();
  TAL_REQUIRE(lmin >= 1 && lmax <= d.tokens.size(1), where, "/lengths' holds [", lmin, ", ", lmax,
              "], outside 1..", d.tokens.size(1));
  const auto tmin = d.tokens.min().item<int64_t>(), tmax = d.tokens.max().item<int64_t>();
  TAL_REQUIRE(tmin >= 0 && tmax < vocab, where, "/tokens' holds ids in [", tmin, ", ", tmax,
              "], outside the vocabulary 0..", vocab - 1);
  const auto lo = d.labels.min().item<int64_t>(), hi = d.labels.max().item<int64_t>();
  TAL_REQUIRE(lo >= 0 && hi < classes, where, "/labels' holds labels in [", lo, ", ", hi, "], outside the ", classes,
              " classes of '/classes'");
}

}  // namespace

TextSplit tokenize_split(const BpeTokenizer& tokenizer, const std::vector<LabelledText>& texts, int64_t max_length) {
  TAL_REQUIRE(max_length >= 1, "max_length ", max_length, " must be at least 1");
  const auto n = static_cast<int64_t>(texts.size());
  TextSplit s;
  s.tokens = at::full({n, max_length}, BpeTokenizer::kEndOfText, at::kInt);
  s.lengths = at::empty({n}, at::kInt);
  s.labels = at::empty({n}, at::kLong);
  auto* tok = s.tokens.data_ptr<int32_t>();
  for (int64_t i = 0; i < n; ++i) {
    const auto& t = texts[static_cast<size_t>(i)];
    auto ids = tokenizer.encode(t.text);
    TAL_REQUIRE(!ids.empty(), t.origin, ": empty text (nothing to tokenize)");
    const auto len = std::min<int64_t>(max_length, static_cast<int64_t>(ids.size()));
    std::copy(ids.begin(), ids.begin() + len, tok + i * max_length);
    s.lengths[i] = static_cast<int32_t>(len);
    s.labels[i] = t.label;
  }
  return s;
}

void write_text_store(const std::string& path, const TextStoreMeta& meta, const TextSplit& train,
                      const TextSplit& test) {
  TAL_REQUIRE(!meta.classes.empty(), path, ": no classes");
  TAL_REQUIRE(!meta.tokenizer.empty() && meta.vocab_size > 0, path, ": no tokenizer identity");
  const auto classes = static_cast<int64_t>(meta.classes.size());
  check_split(path, "train", train, classes, meta.vocab_size);
  check_split(path, "test", test, classes, meta.vocab_size);
  TAL_REQUIRE(train.tokens.size(1) == test.tokens.size(1), path, ": train and test texts are padded to different "
              "lengths (", train.tokens.size(1), ", ", test.tokens.size(1), ")");
  write_atomically(path, [&](const std::string& tmp) {
    H5File f(tmp, H5File::Mode::Truncate);
    f.set_attr("/", "kind", "tal-text-store");
    f.set_attr("/", "format_version", kTextStoreFormat);
    f.set_attr("/", "name", meta.name);
    f.set_attr("/", "source", meta.source);
    f.set_attr("/", "tokenizer", meta.tokenizer);
    f.set_attr("/", "vocab_size", meta.vocab_size);
    f.set_attr("/", "max_length", train.tokens.size(1));
    f.write_strings("/classes", meta.classes);
    for (const auto& [name, d] : {std::pair<const char*, const TextSplit*>{"train", &train}, {"test", &test}}) {
      f.write(std::string("/") + name + "/tokens", d->tokens.contiguous());
      f.write(std::string("/") + name + "/lengths", d->lengths.contiguous());
      f.write(std::string("/") + name + "/labels", d->labels.to(at::kLong));
    }
  });
}

bool is_text_store(const std::string& path) {
  if (!std::filesystem::is_regular_file(path) || H5Fis_hdf5(path.c_str()) <= 0) return false;
  try {
    rehearse_in_child(path, "store kind", [&] { (void)is_text_store(path); });  // crashes HDF5 in a child
    const H5File f(path, H5File::Mode::Read);
    return f.has_attr("/", "kind") && f.attr_str("/", "kind") == "tal-text-store";
  } catch (const Error&) {
    return false;
  }
}

TextStore::TextStore(const std::string& path) : path_(path) {
  rehearse_in_child(path, "text store", [&] { TextStore{path}; });  // a file that crashes HDF5 crashes a child
  const H5File f(path, H5File::Mode::Read);
  TAL_REQUIRE(f.has_attr("/", "kind") && f.attr_str("/", "kind") == "tal-text-store", path,
              ": not a TAL text store (no kind=tal-text-store attribute; create one with 'tal data import csv|"
              "text-folder|fortunes|spam-assassin')");
  const auto v = f.has_attr("/", "format_version") ? f.attr_int("/", "format_version") : -1;
  TAL_REQUIRE(v == kTextStoreFormat, path, ": text store format version ", v, "; this build reads version ",
              kTextStoreFormat);
  for (const char* a : {"tokenizer", "vocab_size"})
    TAL_REQUIRE(f.has_attr("/", a), path, ": no '", a, "' attribute (which tokenizer made these ids?)");
  f.require("/classes", {"string"}, 1);
  for (const char* split : {"train", "test"}) {
    f.require(std::string("/") + split + "/tokens", {"int32"}, 2);
    f.require(std::string("/") + split + "/lengths", {"int32"}, 1);
    f.require(std::string("/") + split + "/labels", {"int64", "int32"}, 1);
  }
  meta_.name = f.has_attr("/", "name") ? f.attr_str("/", "name") : std::filesystem::path(path).stem().string();
  meta_.source = f.has_attr("/", "source") ? f.attr_str("/", "source") : "";
  meta_.tokenizer = f.attr_str("/", "tokenizer");
  meta_.vocab_size = f.attr_int("/", "vocab_size");
  meta_.classes = f.read_strings("/classes");
  TAL_REQUIRE(!meta_.classes.empty(), path, ": '/classes' is empty");
  TAL_REQUIRE(meta_.vocab_size > 0, path, ": vocab_size ", meta_.vocab_size, " must be positive");
  for (auto* s : {&train_, &test_}) {
    const std::string split = s == &train_ ? "train" : "test";
    s->tokens = f.read("/" + split + "/tokens");
    s->lengths = f.read("/" + split + "/lengths");
    s->labels = f.read("/" + split + "/labels").to(at::kLong);
    check_split(path, split.c_str(), *s, static_cast<int64_t>(meta_.classes.size()), meta_.vocab_size);
  }
  TAL_REQUIRE(train_.tokens.size(1) == test_.tokens.size(1), path, ": '/train/tokens' and '/test/tokens' have "
              "different lengths");
}

void TextStore::require_tokenizer(const std::string& identity, const std::string& where) const {
  TAL_REQUIRE(meta_.tokenizer == identity, path_, ": tokenized by ", meta_.tokenizer, ", but ", where, " is ",
              identity, ": re-import the texts with this tokenizer");
}

}  // namespace tal
