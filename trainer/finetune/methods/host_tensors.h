// The adaptation of the methods that add no module and train a subset of the host's own tensors (full, head, ln):
// the family's own forward, nothing to merge.
#pragma once

#include <utility>
#include <vector>

#include "hypernet/family.h"
#include "trainer/finetune/methods/method.h"

namespace tal {

class HostTensors : public Adaptation {
 public:
  HostTensors(const ArchSpec& spec, ParamMap& params, const std::function<bool(const std::string&)>& trained) {
    train_host(spec, params, trained);
  }
  const BlockHooks* hooks() const override { return nullptr; }
};

// The task's head: the classifier's tensors (none for a language model, whose lm_head is the vocabulary's).
inline std::function<bool(const std::string&)> head_of(const ArchSpec& spec) {
  const Family* family = &spec.family();
  return [family](const std::string& name) { return family->is_classifier(name); };
}

// Every LayerNorm's scale and shift, as the family names them.
inline std::function<bool(const std::string&)> layer_norm_of(const ArchSpec& spec) {
  const Family* family = &spec.family();
  return [family](const std::string& name) { return family->is_layer_norm(name); };
}

}  // namespace tal
