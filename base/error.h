// The one exception type of the framework and the check macros that throw it.
// User-facing errors (bad specs, configs, files) carry only their message; internal invariants add file and line.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace tal {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Args>
std::string concat(Args&&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}
}  // namespace detail

}  // namespace tal

// Bad input from a user: the message must name the file/key and say what was expected.
#define TAL_REQUIRE(cond, ...)                                  \
  do {                                                          \
    if (!(cond)) throw ::tal::Error(::tal::detail::concat(__VA_ARGS__)); \
  } while (0)

// A broken invariant inside the framework: keeps the expression, file and line.
#define TAL_ASSERT(cond, ...)                                                               \
  do {                                                                                      \
    if (!(cond))                                                                            \
      throw ::tal::Error(::tal::detail::concat("internal error: ", #cond, " failed at ",    \
                                               __FILE__, ":", __LINE__, ": ", ##__VA_ARGS__)); \
  } while (0)
