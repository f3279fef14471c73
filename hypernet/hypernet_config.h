// The shape of a hypernetwork: variant and sizes (DESIGN.md 4.2 / config keys hypernet.*).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace tal {

// ghn3 (tiled decoder) | logah (low-rank decoder) | tal (logah + task FiLM)
const std::vector<std::string>& hypernet_variant_names();
// none (every tensor predicted) | ancestry (inheritance: weight-selected ancestry tensors plus a gated correction)
const std::vector<std::string>& hypernet_base_names();

// The documented bounds of the sizes (checked before anything is allocated; the option table uses them too).
struct SizeBound {
  const char* key;  // under hypernet.
  int64_t min, max;
};
const std::vector<SizeBound>& hypernet_size_bounds();
const SizeBound& hypernet_size_bound(const std::string& key);

struct HypernetConfig {
  std::string variant = "logah";  // ghn3 (tiled decoder) | logah (low-rank decoder) | tal (logah + task FiLM)
  int64_t hidden = 64;            // node embedding width d
  int64_t layers = 3;             // Graphormer layers
  int64_t heads = 8;
  int64_t rank = 32;              // low-rank decoder rank r (logah, tal)
  int64_t max_shape = 2048;       // largest channel count decoded without tiling (GHN-3: the block size)
  int64_t spatial = 16;           // largest kernel side decoded (GHN-3 block side S; shape-encoder vocabulary)
  int64_t max_ck = 32768;         // low-rank factor length: c * k of any decoded dimension must fit
  int64_t num_classes = 1000;     // shape-encoder vocabulary entry and GHN-3 class predictor outputs
  int64_t task_dim = 768;         // task embedding width (tal)
  int64_t task_layer = 0;         // hidden width of the task-specific MLP before the FiLM maps; 0 = identity
  // What a prediction starts from. none: the decoder's output is the tensor. ancestry: a tensor the ancestry model
  // has is its weight-selected copy plus gate x (the decoder's output - its value at zero), with one gate per
  // (graph op, weight/bias) starting at zero, so at step 0 the prediction is weight selection; tensors the ancestry
  // lacks are predicted alone. init: the same residual on the family's own initialisation of the architecture
  // (seeded by its spec), so at step 0 the prediction is a random start.
  std::string base = "none";
  // The low-rank decoder's l2 bias, added to every node's factors as the reference does (true), or left out
  // (false): the bias makes a term W_ij ⊃ c_i c_j that every layer's matrix shares (see README, layer collapse).
  bool factor_bias = true;

  bool low_rank() const { return variant != "ghn3"; }
  bool film() const { return variant == "tal"; }
  bool inherits() const { return base == "ancestry"; }  // needs an ancestry model
  bool gated() const { return base != "none"; }          // a residual on a base, with inherit_gate
  std::array<int64_t, 4> max_shape4() const { return {max_shape, max_shape, spatial, spatial}; }
  // Throws tal::Error naming `origin` and the key on sizes outside their bounds or inconsistent with each other.
  void validate(const std::string& origin = "hypernet config") const;
  std::string describe() const;
  // The number of parameters the modules will have, computed without building them (checked 64-bit arithmetic;
  // a test holds it equal to Hypernet::num_parameters() for every variant).
  int64_t parameter_count() const;
};

}  // namespace tal
