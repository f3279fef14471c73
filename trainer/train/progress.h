// Progress reports: one line on stdout (rank 0) and the same figures as one object in metrics.jsonl, built
// together so the two cannot drift apart.
#pragma once

#include <cstdint>
#include <string>

#include "trainer/train/metrics.h"

namespace tal {

class Progress {
 public:
  // Printed (may be "") and recorded under `key`.
  Progress& add(const std::string& printed, const std::string& key, double value);
  Progress& add(const std::string& printed, const std::string& key, int64_t value);
  Progress& add(const std::string& printed, const std::string& key, const std::string& value);
  Progress& show(const std::string& printed);  // printed only
  const std::string& line() const { return line_; }
  const JsonLine& json() const { return json_; }
  // Prints the line (flushed) and appends the JSON object to `log` (if open).
  void emit(MetricsLog& log) const;

 private:
  void append(const std::string& printed);
  std::string line_;
  JsonLine json_;
};

// printf into a string.
std::string strf(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace tal
