// The one place where our parameter names meet the reference implementations' state_dict names.
// Our modules are named like the references (gnn.0.attn.to_qkv.weight, decoder.mlp.fc.0.weight, gnn.0.TEN...),
// so a parameter has the same name in both; what remains are reference tensors we deliberately do not have.
#pragma once

#include <string>

#include "hypernet/hypernet_config.h"

namespace tal {

// Reference tensors without a counterpart here: LoGAH HEAD's `decoder.l1.*` (a Linear(r, r) never used in the
// forward pass; absent at LoGAH c65ff40 and in TAL) and `decoder.seq.1.*` (a second name of `decoder.l2`).
bool is_reference_only_name(const std::string& name);

// Parameters the reference counts that we do not have (LoGAH HEAD's decoder.l1: r*r + r), for count parity
// with a fixture written from LoGAH HEAD. `family` is the fixture group: ghn3, logah or tal.
int64_t reference_only_param_count(const std::string& family, const HypernetConfig& config);

}  // namespace tal
