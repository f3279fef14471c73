// GPT-2's byte-level BPE tokenizer (Radford et al., 2019): the 50,257-token vocabulary read from the published
// encoder.json and vocab.bpe, text split by GPT-2's pre-tokenisation rule, each piece's UTF-8 bytes mapped to
// printable characters and merged by rank. Any byte sequence encodes (invalid UTF-8 included) and decodes back.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace tal {

class BpeTokenizer {
 public:
  static constexpr int32_t kEndOfText = 50256;  // <|endoftext|>: GPT-2's separator, also the padding id here
  // DIR/encoder.json and DIR/vocab.bpe; every problem names the file (and line or entry).
  explicit BpeTokenizer(const std::string& dir);
  std::vector<int32_t> encode(const std::string& utf8) const;
  std::string decode(const std::vector<int32_t>& ids) const;
  int64_t vocab_size() const { return static_cast<int64_t>(tokens_.size()); }
  // A content hash of the two vocabulary files: text stores record it, and refuse another tokenizer's ids.
  const std::string& identity() const { return identity_; }
  const std::string& dir() const { return dir_; }

 private:
  std::vector<int32_t> encode_piece(const std::string& piece) const;
  std::string dir_, identity_;
  std::unordered_map<std::string, int32_t> ids_;    // token (byte-mapped characters, UTF-8) -> id
  std::vector<std::string> tokens_;                 // id -> token
  std::unordered_map<std::string, int32_t> ranks_;  // "first second" -> merge rank
  std::string byte_char_[256];                      // byte -> its printable character, UTF-8
  std::unordered_map<std::string, uint8_t> char_byte_;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

// GPT-2's pre-tokenisation, exposed for tests: 's 't 're 've 'm 'll 'd | ?letters | ?digits | ?other |
// whitespace not followed by a non-space | whitespace. Letters are Unicode L*, digits N*, whitespace White_Space.
std::vector<std::string> gpt2_pretokenize(const std::string& utf8);

// Where the tokenizer's files live: $TAL_TOKENIZER_DIR, else data/gpt2 (what launch/setup.sh installs).
std::string default_tokenizer_dir();

}  // namespace tal
