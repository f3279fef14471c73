// The ancestry model: an ordinary ViT trained on the large dataset. It is the teacher of stage-1 training and the
// feature extractor behind task embeddings. Stored in HDF5 under torchvision's parameter names.
#pragma once

#include <string>
#include <vector>

#include "hypernet/targets.h"

namespace tal {

struct AncestryModel {
  ArchSpec spec;
  ParamMap params;
  std::string content_hash;  // of the parameter values; task embeddings are keyed by it
  double test_accuracy = -1;
  std::string dataset;               // the task store it was trained on ("" when imported)
  std::vector<std::string> classes;  // the classes it was trained on, in its head's order (empty: not recorded, a
                                     // version 1 file, or a language model)
};

std::string params_hash(const ParamMap& params);
// Version 2 adds the classes; version 1 files are still read.
void save_ancestry(const std::string& path, const AncestryModel& model, const std::string& dataset);
AncestryModel load_ancestry(const std::string& path);

// An ancestry brought from outside (tal ancestry import): the weights of a `spec` model in the layout tal export
// writes and its reference library names them (torchvision's ViT, HF's GPT-2), from a safetensors file. Every
// parameter must be there with its exact shape as a floating-point tensor; a missing, mis-shaped or unknown tensor
// is one error naming the file and the tensor (HF's causal-mask buffers `.attn.bias` / `.attn.masked_bias` are
// left out). `classes` names the head's classes (their count must be the spec's).
AncestryModel import_ancestry(const std::string& safetensors_path, const ArchSpec& spec,
                              const std::vector<std::string>& classes);

}  // namespace tal
