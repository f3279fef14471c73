// ArchSpec: one target architecture, parsed from and printed as the spec string of DESIGN.md 4.1
// ("vit:depth=6,width=192,heads=3"). The keys, defaults, bounds and rules belong to the architecture's family
// (hypernet/family.h); a spec is the family plus one integer per key. No LibTorch here: configuration code
// includes this header cheaply.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tal {

class Family;

// What a dataset fixes about the models trained on it (0: not fixed). A family maps it onto its own keys.
struct DataShape {
  int64_t channels = 0, height = 0, width = 0;  // images
  int64_t vocab = 0, length = 0;                // token sequences
  int64_t classes = 0;                          // classification outputs
};

// One key of a family's spec strings.
struct SpecKey {
  const char* name;
  int64_t default_value;
  int64_t max;            // documented upper bound, checked before anything is allocated
  const char* id_prefix;  // in ArchSpec::id(): "d" for depth -> "d6"
  int64_t min = 1;        // smallest value (GPT-2's classes: 0 for the language-model head)
};

class ArchSpec {
 public:
  ArchSpec();  // the first registered family's defaults (ViT)
  static ArchSpec defaults(const Family& family);
  static ArchSpec defaults(const std::string& family);
  // Omitted keys come from the family's defaults (or from `base`, which must be of the same family); keys derived
  // from others are completed by the family (mlp = 4 * width). Throws tal::Error naming the key on unknown keys,
  // bad numbers, sizes outside the bounds or inconsistent sizes.
  static ArchSpec parse(const std::string& text);
  static ArchSpec parse(const std::string& text, const ArchSpec& base);

  const Family& family() const { return *family_; }
  std::string family_name() const;
  bool has(const std::string& key) const;
  // The value of one of the family's keys; an internal error for a key the family does not have.
  int64_t at(const std::string& key) const;
  void set(const std::string& key, int64_t value);

  void validate() const;
  // Every key of the family, canonical order: parse(str()) == *this.
  std::string str() const;
  // Short, file-name-safe identifier: "vit-d6-w192-h3-m768-p4-i28-c1-k10".
  std::string id() const;
  bool operator==(const ArchSpec& o) const { return family_ == o.family_ && values_ == o.values_; }
  bool operator!=(const ArchSpec& o) const { return !(*this == o); }

 private:
  explicit ArchSpec(const Family& family);
  int index_of(const std::string& key) const;
  const Family* family_;
  std::vector<int64_t> values_;  // in the family's key order
};

struct ParamInfo {
  std::string name;
  std::vector<int64_t> shape;
  int64_t numel() const;  // checked: throws if the product overflows int64
};

// The architecture's parameters in state_dict order (the family's table).
std::vector<ParamInfo> param_table(const ArchSpec& spec);
bool is_predicted(const ArchSpec& spec, const std::string& name);
// Checked 64-bit arithmetic: throws naming the spec if the count overflows.
int64_t count_params(const ArchSpec& spec, bool predicted_only);

std::string shape_str(const std::vector<int64_t>& shape);
// a * b and a + b that throw instead of overflowing.
int64_t checked_mul(int64_t a, int64_t b);
int64_t checked_add(int64_t a, int64_t b);

}  // namespace tal
