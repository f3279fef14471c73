#include "base/suggest.h"

#include <algorithm>

namespace tal {
namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string nearest_name(const std::string& key, const std::vector<std::string>& candidates) {
  if (key.empty()) return "";
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    const auto dot = c.rfind('.');
    size_t d = edit_distance(key, c);
    if (dot != std::string::npos) d = std::min(d, edit_distance(key, c.substr(dot + 1)));
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best_d <= std::max<size_t>(2, key.size() / 3) ? best : "";
}

std::string join_choices(const std::vector<std::string>& choices) {
  std::string out;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) out += i + 1 == choices.size() ? " or " : ", ";
    out += choices[i];
  }
  return out;
}

std::string did_you_mean(const std::string& key, const std::vector<std::string>& candidates) {
  const auto near = nearest_name(key, candidates);
  return near.empty() ? "" : " (did you mean '" + near + "'?)";
}

bool is_one_of(const std::string& value, const std::vector<std::string>& choices) {
  return std::find(choices.begin(), choices.end(), value) != choices.end();
}

std::string elide_long_words(const std::string& message, size_t longest) {
  std::string out;
  size_t start = 0;
  while (start < message.size()) {
    const size_t space = message.find_first_of(" \t\n", start);
    const size_t end = space == std::string::npos ? message.size() : space;
    if (end - start > longest) {
      const size_t head = longest / 2, tail = longest / 8;
      out += message.substr(start, head) + "...[" + std::to_string(end - start - head - tail) + " bytes]..." +
             message.substr(end - tail, tail);
    } else {
      out += message.substr(start, end - start);
    }
    if (end < message.size()) out += message[end];
    start = end + 1;
  }
  return out;
}

}  // namespace tal
