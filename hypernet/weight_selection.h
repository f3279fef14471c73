// Weight selection (Xu et al., ICLR 2024, "Initializing Models with Larger Ones"): a smaller model of a family
// initialised from a larger trained one without any training. Layer l of the smaller model takes layer l of the
// larger (first-N layer selection: tensors are matched by name, so a deeper larger model's extra layers are left
// out), and every tensor takes evenly spaced elements along each dimension (uniform element selection: index
// floor(i * D / d) of D for i < d). Packed projections need no special case: with D = 3C and d = 3c that index
// maps block p of the smaller (q, k or v) into block p of the larger, element for element as selecting each block
// alone would (3C(pc + j) / 3c = pC + jC / c).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hypernet/targets.h"

namespace tal {

struct SelectionReport {
  int64_t selected = 0;             // tensors taken from the larger model
  std::vector<std::string> kept;    // tensors left at `fallback`'s values, and why
};

// Every parameter of `small_spec`: selected from `large` where the larger model has the tensor and is at least as
// large along every dimension; otherwise (and for the classifier when the class counts differ) `fallback`'s.
ParamMap select_weights(const ArchSpec& large_spec, const ParamMap& large, const ArchSpec& small_spec,
                        const ParamMap& fallback, SelectionReport* report = nullptr);

// The one tensor `name` of `small_spec` selected from `large` (a fresh copy, on `large`'s device), or an undefined
// tensor with the reason in `why` where there is no source (as select_weights keeps the fallback's).
at::Tensor select_tensor(const ArchSpec& large_spec, const ParamMap& large, const ArchSpec& small_spec,
                         const ParamInfo& info, std::string* why = nullptr);

// The evenly spaced indices of `d` elements out of `D` (d <= D): floor(i * D / d).
std::vector<int64_t> evenly_spaced(int64_t D, int64_t d);

}  // namespace tal
