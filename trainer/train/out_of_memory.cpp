#include "trainer/train/out_of_memory.h"

#include <c10/util/Exception.h>

#include <new>

namespace tal {

std::string out_of_memory_text(const std::exception& e) {
  std::string text;
  if (dynamic_cast<const std::bad_alloc*>(&e)) {
    const std::string what = e.what();
    text = what.find("bad_alloc") != std::string::npos ? what : "std::bad_alloc: " + what;
  } else if (const auto* c = dynamic_cast<const c10::Error*>(&e)) {
    text = c->what_without_backtrace();
    bool oom = false;
    for (const char* mark : {"out of memory", "not enough memory", "can't allocate memory", "Tried to allocate"})
      oom = oom || text.find(mark) != std::string::npos;
    if (!oom) return "";
  } else {
    return "";
  }
  const auto eol = text.find('\n');
  if (eol != std::string::npos) text.resize(eol);
  if (text.size() > 240) text = text.substr(0, 237) + "...";
  return text.empty() ? "out of memory" : text;
}

std::string run_unless_out_of_memory(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    const std::string text = out_of_memory_text(e);
    if (text.empty()) throw;
    return text;
  }
  return "";
}

}  // namespace tal
