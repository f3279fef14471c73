#include "trainer/train/progress.h"

#include <cstdarg>
#include <cstdio>

namespace tal {

std::string strf(const char* format, ...) {
  char buf[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  return buf;
}

void Progress::append(const std::string& printed) {
  if (printed.empty()) return;
  if (!line_.empty()) line_ += "  ";
  line_ += printed;
}

Progress& Progress::add(const std::string& printed, const std::string& key, double value) {
  append(printed);
  json_.add(key, value);
  return *this;
}

Progress& Progress::add(const std::string& printed, const std::string& key, int64_t value) {
  append(printed);
  json_.add(key, value);
  return *this;
}

Progress& Progress::add(const std::string& printed, const std::string& key, const std::string& value) {
  append(printed);
  json_.add(key, value);
  return *this;
}

Progress& Progress::show(const std::string& printed) {
  append(printed);
  return *this;
}

void Progress::emit(MetricsLog& log) const {
  std::printf("%s\n", line_.c_str());
  std::fflush(stdout);
  log.write(json_);
}

}  // namespace tal
