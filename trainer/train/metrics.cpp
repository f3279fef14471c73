#include "trainer/train/metrics.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "base/error.h"

namespace tal {

void JsonLine::key(const std::string& k) {
  if (!body_.empty()) body_ += ", ";
  body_ += "\"" + k + "\": ";
}

JsonLine& JsonLine::add(const std::string& k, double v) {
  key(k);
  if (!std::isfinite(v)) {
    body_ += "null";
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    body_ += buf;
  }
  return *this;
}

JsonLine& JsonLine::add(const std::string& k, int64_t v) {
  key(k);
  body_ += std::to_string(v);
  return *this;
}

JsonLine& JsonLine::add(const std::string& k, const std::string& v) {
  key(k);
  body_ += "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') {
      body_ += '\\';
      body_ += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      body_ += buf;
    } else {
      body_ += c;
    }
  }
  body_ += "\"";
  return *this;
}

JsonLine& JsonLine::add_bool(const std::string& k, bool v) {
  key(k);
  body_ += v ? "true" : "false";
  return *this;
}

JsonLine& JsonLine::add_json(const std::string& k, const std::string& json) {
  key(k);
  body_ += json;
  return *this;
}

MetricsLog::MetricsLog(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  out_.open(path, std::ios::app);
  TAL_REQUIRE(out_.is_open(), path, ": cannot open for appending");
}

void MetricsLog::write(const JsonLine& line) {
  if (!out_.is_open()) return;
  out_ << line.str() << '\n';
  out_.flush();
}

}  // namespace tal
