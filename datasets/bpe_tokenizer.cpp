#include "datasets/bpe_tokenizer.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/error.h"
#include "base/hash.h"

namespace tal {
namespace {

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TAL_REQUIRE(in, path, ": cannot be read (the GPT-2 tokenizer needs encoder.json and vocab.bpe; launch/setup.sh "
                        "installs them into data/gpt2, or set TAL_TOKENIZER_DIR)");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string utf8_of(UChar32 c) {
  char buf[4];
  int32_t n = 0;
  UBool error = false;
  U8_APPEND(reinterpret_cast<uint8_t*>(buf), n, 4, c, error);
  (void)error;  // the byte alphabet's characters (< 0x200) always fit
  return std::string(buf, static_cast<size_t>(n));
}

enum class CharClass { Letter, Number, Space, Other };

CharClass classify(UChar32 c) {
  if (c < 0) return CharClass::Other;  // a byte that is not UTF-8: byte-level BPE still encodes it
  if (u_hasBinaryProperty(c, UCHAR_WHITE_SPACE)) return CharClass::Space;
  switch (u_charType(c)) {
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER:
      return CharClass::Letter;
    case U_DECIMAL_DIGIT_NUMBER:
    case U_LETTER_NUMBER:
    case U_OTHER_NUMBER:
      return CharClass::Number;
    default:
      return CharClass::Other;
  }
}

struct CodePoint {
  UChar32 c;
  size_t begin, end;  // byte range in the text
  CharClass cls;
};

std::vector<CodePoint> code_points(const std::string& text) {
  std::vector<CodePoint> out;
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const auto n = static_cast<int32_t>(text.size());
  for (int32_t i = 0; i < n;) {
    const int32_t begin = i;
    UChar32 c;
    U8_NEXT(s, i, n, c);
    if (c < 0) i = begin + 1;  // one invalid byte at a time
    out.push_back({c, static_cast<size_t>(begin), static_cast<size_t>(i), classify(c)});
  }
  return out;
}

}  // namespace

std::vector<std::string> gpt2_pretokenize(const std::string& text) {
  const auto cps = code_points(text);
  const size_t n = cps.size();
  std::vector<std::string> pieces;
  auto emit = [&](size_t from, size_t to) { pieces.push_back(text.substr(cps[from].begin, cps[to - 1].end - cps[from].begin)); };
  auto ascii = [&](size_t i, char ch) { return i < n && cps[i].c == static_cast<UChar32>(ch); };
  for (size_t i = 0; i < n;) {
    if (ascii(i, '\'')) {  // the contractions, in the rule's order
      size_t len = 0;
      if (ascii(i + 1, 's') || ascii(i + 1, 't') || ascii(i + 1, 'm') || ascii(i + 1, 'd')) len = 2;
      else if ((ascii(i + 1, 'r') && ascii(i + 2, 'e')) || (ascii(i + 1, 'v') && ascii(i + 2, 'e')) ||
               (ascii(i + 1, 'l') && ascii(i + 2, 'l')))
        len = 3;
      if (len) {
        emit(i, i + len);
        i += len;
        continue;
      }
    }
    // " ?X+" for letters, digits and everything else that is not whitespace.
    const size_t p = ascii(i, ' ') ? i + 1 : i;
    if (p < n && cps[p].cls != CharClass::Space) {
      const auto cls = cps[p].cls;
      size_t e = p;
      while (e < n && cps[e].cls == cls) ++e;
      emit(i, e);
      i = e;
      continue;
    }
    // Whitespace: a run, less its last character when a non-space follows (that one prefixes the next piece).
    size_t e = i;
    while (e < n && cps[e].cls == CharClass::Space) ++e;
    if (e < n && e - i >= 2) --e;
    emit(i, e);
    i = e;
  }
  return pieces;
}

std::string default_tokenizer_dir() {
  const char* env = std::getenv("TAL_TOKENIZER_DIR");
  return env && *env ? env : "data/gpt2";
}

BpeTokenizer::BpeTokenizer(const std::string& dir) : dir_(dir) {
  // Bytes to printable characters: the printable Latin-1 bytes stand for themselves, the rest take 256, 257, ...
  int next = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    byte_char_[b] = utf8_of(printable ? b : 256 + next++);
    char_byte_[byte_char_[b]] = static_cast<uint8_t>(b);
  }
  const std::string encoder_path = dir + "/encoder.json", merges_path = dir + "/vocab.bpe";
  const std::string encoder_text = read_whole(encoder_path), merges_text = read_whole(merges_path);
  identity_ = "gpt2-bpe:" + Fnv1a().add(encoder_text).add(merges_text).hex();

  nlohmann::json vocab;
  try {
    vocab = nlohmann::json::parse(encoder_text);
  } catch (const std::exception& e) {
    throw Error(encoder_path + ": not JSON (" + e.what() + ")");
  }
  TAL_REQUIRE(vocab.is_object() && !vocab.empty(), encoder_path, ": expected an object of token -> id");
  tokens_.assign(vocab.size(), std::string());
  std::vector<bool> seen(vocab.size(), false);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    TAL_REQUIRE(it.value().is_number_integer(), encoder_path, ": entry '", it.key(), "' is not an integer id");
    const auto id = it.value().get<int64_t>();
    TAL_REQUIRE(id >= 0 && id < static_cast<int64_t>(vocab.size()) && !seen[static_cast<size_t>(id)], encoder_path,
                ": entry '", it.key(), "' has id ", id, ", which is repeated or outside 0..", vocab.size() - 1);
    seen[static_cast<size_t>(id)] = true;
    tokens_[static_cast<size_t>(id)] = it.key();
    ids_[it.key()] = static_cast<int32_t>(id);
  }
  const auto eot = ids_.find("<|endoftext|>");
  TAL_REQUIRE(eot != ids_.end() && eot->second == kEndOfText, encoder_path, ": '<|endoftext|>' must have id ",
              kEndOfText, " (GPT-2's vocabulary of ", kEndOfText + 1, " tokens)");
  for (int b = 0; b < 256; ++b)
    TAL_REQUIRE(ids_.count(byte_char_[b]), encoder_path, ": no token for byte ", b, ": not a byte-level vocabulary");

  std::istringstream lines(merges_text);
  std::string line;
  int64_t number = 0;
  while (std::getline(lines, line)) {
    ++number;
    if (line.empty() || (number == 1 && line.rfind("#version", 0) == 0)) continue;
    const auto space = line.find(' ');
    TAL_REQUIRE(space != std::string::npos && space > 0 && space + 1 < line.size() &&
                    line.find(' ', space + 1) == std::string::npos,
                merges_path, ":", number, ": expected two symbols separated by one space, got '", line, "'");
    const std::string merged = line.substr(0, space) + line.substr(space + 1);
    TAL_REQUIRE(ids_.count(merged), merges_path, ":", number, ": the merge '", line, "' makes '", merged,
                "', which encoder.json does not have");
    ranks_.emplace(line, static_cast<int32_t>(ranks_.size()));
  }
  TAL_REQUIRE(!ranks_.empty(), merges_path, ": no merges");
}

std::vector<int32_t> BpeTokenizer::encode_piece(const std::string& piece) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    const auto it = cache_.find(piece);
    if (it != cache_.end()) return it->second;
  }
  std::vector<std::string> word;
  for (unsigned char b : piece) word.push_back(byte_char_[b]);
  while (word.size() > 1) {
    int32_t best = std::numeric_limits<int32_t>::max();
    size_t at = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      const auto r = ranks_.find(word[i] + " " + word[i + 1]);
      if (r != ranks_.end() && r->second < best) best = r->second, at = i;
    }
    if (best == std::numeric_limits<int32_t>::max()) break;
    const std::string first = word[at], second = word[at + 1];
    std::vector<std::string> merged;
    for (size_t i = 0; i < word.size();) {  // every occurrence of the pair, left to right
      if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
        merged.push_back(first + second);
        i += 2;
      } else {
        merged.push_back(word[i++]);
      }
    }
    word.swap(merged);
  }
  std::vector<int32_t> ids;
  ids.reserve(word.size());
  for (const auto& w : word) {
    const auto it = ids_.find(w);
    TAL_ASSERT(it != ids_.end(), "BPE produced '", w, "', which is not in the vocabulary");
    ids.push_back(it->second);
  }
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() > 200000) cache_.clear();
  cache_.emplace(piece, ids);
  return ids;
}

std::vector<int32_t> BpeTokenizer::encode(const std::string& text) const {
  std::vector<int32_t> out;
  for (const auto& piece : gpt2_pretokenize(text)) {
    const auto ids = encode_piece(piece);
    out.insert(out.end(), ids.begin(), ids.end());
  }
  return out;
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (const auto id : ids) {
    TAL_REQUIRE(id >= 0 && id < vocab_size(), "token id ", id, " is outside GPT-2's vocabulary 0..", vocab_size() - 1);
    const auto& token = tokens_[static_cast<size_t>(id)];
    if (id == kEndOfText) {
      out += token;
      continue;
    }
    const auto* s = reinterpret_cast<const uint8_t*>(token.data());
    const auto n = static_cast<int32_t>(token.size());
    for (int32_t i = 0; i < n;) {
      const int32_t begin = i;
      UChar32 c;
      U8_NEXT(s, i, n, c);
      const auto it = char_byte_.find(token.substr(static_cast<size_t>(begin), static_cast<size_t>(i - begin)));
      TAL_ASSERT(c >= 0 && it != char_byte_.end(), "token ", id, " holds a character outside the byte alphabet");
      out.push_back(static_cast<char>(it->second));
    }
  }
  return out;
}

}  // namespace tal
