// ArchSpec: one target architecture (a torchvision ViT or an HF GPT-2 with untied head), parsed from and printed as
// the spec string of DESIGN.md 4.1, plus the exact parameter names and shapes of that architecture.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tal {

enum class Family { Vit, Gpt2 };

const char* family_name(Family f);

struct ArchSpec {
  Family family = Family::Vit;
  int64_t depth = 12;
  int64_t width = 192;
  int64_t heads = 3;
  int64_t mlp = 768;
  // ViT only.
  int64_t patch = 16;
  int64_t image = 224;
  int64_t channels = 3;
  int64_t classes = 1000;
  // GPT-2 only.
  int64_t vocab = 50257;
  int64_t context = 1024;

  // "vit:depth=6,width=192,heads=3" -> spec with the family's defaults for omitted keys. `mlp` defaults to
  // 4*width. Throws tal::Error naming the key on unknown keys, bad numbers or inconsistent sizes.
  static ArchSpec parse(const std::string& text);
  // As parse(), with omitted keys taken from `base` (same family) instead of the family's defaults; a given
  // width without a given mlp sets mlp = 4 * width.
  static ArchSpec parse(const std::string& text, const ArchSpec& base);
  static ArchSpec defaults(Family family);

  void validate() const;
  // Every key of the family, canonical order: parse(str()) == *this.
  std::string str() const;
  // Short, file-name-safe identifier: "vit-d6-w192-h3-m768-p4-i28-c1-k10".
  std::string id() const;
  // Tokens seen by the encoder: ViT patches + class token; GPT-2 the context length.
  int64_t tokens() const;

  bool operator==(const ArchSpec& o) const { return str() == o.str(); }
};

struct ParamInfo {
  std::string name;
  std::vector<int64_t> shape;
  int64_t numel() const;
};

// The architecture's parameters in state_dict order, names and shapes exactly as torchvision / HF.
// Includes the ViT `class_token`, which no graph node predicts.
std::vector<ParamInfo> param_table(const ArchSpec& spec);
// Names of parameters that are not predicted by a hypernetwork (ViT: class_token).
bool is_predicted(const ArchSpec& spec, const std::string& name);
int64_t count_params(const ArchSpec& spec, bool predicted_only);

std::string shape_str(const std::vector<int64_t>& shape);

}  // namespace tal
