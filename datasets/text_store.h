// The HDF5 text task store of DESIGN.md 4.3: /train and /test splits of GPT-2 BPE ids, int32 [N, L] padded with
// <|endoftext|>, their lengths int32 [N] and int64 labels [N]; /classes; attributes name, source, tokenizer (the
// identity of the vocabulary files the ids come from) and max_length. Small enough to live in memory.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "datasets/task_store.h"

namespace tal {

constexpr int64_t kTextStoreFormat = 1;

struct TextSplit {
  at::Tensor tokens;   // int32 [N, L], padded with BpeTokenizer::kEndOfText
  at::Tensor lengths;  // int32 [N], 1..L
  at::Tensor labels;   // int64 [N]
};

struct TextStoreMeta {
  std::string name, source;
  std::vector<std::string> classes;
  std::string tokenizer;   // BpeTokenizer::identity()
  int64_t vocab_size = 0;  // ids are < vocab_size
};

// Encodes texts (truncated to max_length tokens; empty texts are refused) into a split.
struct LabelledText {
  std::string text;
  int64_t label;
  std::string origin;  // file (and line or row) it came from, for error messages
};
class BpeTokenizer;
TextSplit tokenize_split(const BpeTokenizer& tokenizer, const std::vector<LabelledText>& texts, int64_t max_length);

// Validates shapes, lengths, ids and labels, then writes atomically.
void write_text_store(const std::string& path, const TextStoreMeta& meta, const TextSplit& train,
                      const TextSplit& test);

// True when `path` is a text store (kind=tal-text-store), false for anything else HDF5 or not.
bool is_text_store(const std::string& path);

class TextStore {
 public:
  // Checks the layout and names the file and dataset of the first problem.
  explicit TextStore(const std::string& path);
  const std::string& path() const { return path_; }
  const TextStoreMeta& meta() const { return meta_; }
  const TextSplit& split(Split s) const { return s == Split::Train ? train_ : test_; }
  int64_t size(Split s) const { return split(s).labels.size(0); }
  int64_t max_length() const { return train_.tokens.size(1); }
  // Refuses ids made by another tokenizer: "x.h5: tokenized by gpt2-bpe:..., but data/gpt2 is gpt2-bpe:...".
  void require_tokenizer(const std::string& identity, const std::string& where) const;

 private:
  std::string path_;
  TextStoreMeta meta_;
  TextSplit train_, test_;
};

}  // namespace tal
