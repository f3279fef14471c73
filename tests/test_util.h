// Helpers shared by the test binaries: where fixtures live, fresh temporary directories, and tensor comparison
// that names the worst element.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "base/error.h"

#include <cstdlib>
#include <functional>
#include <filesystem>
#include <sstream>
#include <string>

namespace tal::test {

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// ../shared/fixtures/ghn_reference.h5, or "" when the shared folder is absent (a user's clone).
inline std::string reference_fixture() {
  const std::string p = env_or("TAL_SHARED_FIXTURES", "../shared/fixtures") + "/ghn_reference.h5";
  return std::filesystem::exists(p) ? p : "";
}

// The message of the tal::Error that `f` throws, or "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

inline std::string golden_dir() { return env_or("TAL_GOLDEN_DIR", "tests/golden"); }

// A directory of its own under $TMPDIR (mkdtemp), removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tal-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// |a - b| <= atol + rtol * |b| elementwise; on failure, the message names the worst element.
inline ::testing::AssertionResult all_close(const std::string& what, const at::Tensor& actual,
                                            const at::Tensor& expected, double rtol, double atol) {
  if (actual.sizes() != expected.sizes()) {
    std::ostringstream out;
    out << what << ": shape " << actual.sizes() << " != expected " << expected.sizes();
    return ::testing::AssertionFailure() << out.str();
  }
  const auto a = actual.detach().to(at::kDouble).flatten();
  const auto b = expected.detach().to(at::kDouble).flatten();
  if (a.numel() == 0) return ::testing::AssertionSuccess();
  const auto excess = (a - b).abs() - (atol + rtol * b.abs());
  const int64_t worst = excess.argmax().item<int64_t>();
  if (excess[worst].item<double>() <= 0 && !a.isnan().any().item<bool>()) return ::testing::AssertionSuccess();
  std::ostringstream out;
  out.precision(9);
  out << what << ": worst element " << worst << " of " << a.numel() << ": got " << a[worst].item<double>()
      << ", expected " << b[worst].item<double>() << " (|diff| " << (a[worst] - b[worst]).abs().item<double>()
      << ", rtol " << rtol << ", atol " << atol << "); max |diff| overall " << (a - b).abs().max().item<double>();
  return ::testing::AssertionFailure() << out.str();
}

}  // namespace tal::test
