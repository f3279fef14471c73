// The append-only metrics log (runs/NAME/metrics.jsonl, one JSON object per logged step) and its line builder.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace tal {

class JsonLine {
 public:
  JsonLine& add(const std::string& key, double v);
  JsonLine& add(const std::string& key, int64_t v);
  JsonLine& add(const std::string& key, const std::string& v);  // escaped, control characters as \uXXXX
  JsonLine& add_bool(const std::string& key, bool v);
  JsonLine& add_json(const std::string& key, const std::string& json);  // an object or array made by the caller
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void key(const std::string& k);
  std::string body_;
};

class MetricsLog {
 public:
  MetricsLog() = default;
  explicit MetricsLog(const std::string& path);  // creates parent directories; appends
  void write(const JsonLine& line);
  bool is_open() const { return out_.is_open(); }

 private:
  std::ofstream out_;
};

}  // namespace tal
