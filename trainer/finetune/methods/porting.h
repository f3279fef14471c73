// Porting a method's modules from one host to another of the same architecture (seed 002: Sabry & Belz, "Assessing
// the Portability of Parameter Matrices Trained by Parameter-Efficient Finetuning Methods", EACL 2024 Findings): the
// modules trained on an origin host (another initialisation, or another task) are copied into a destination host's
// fresh modules (`ported`), or every tensor is replaced by i.i.d. draws from a normal with that tensor's mean and
// standard deviation (`sampled`, the paper's "same distribution" control; per-tensor moments are our reading). The
// third condition, modules trained from their own initialisation, is the destination's ordinary run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trainer/finetune/methods/method.h"

namespace tal {

// Whether `method`'s modules port (Method::ports: LoRA's and adapters', which exist from the first step).
bool method_ports(const std::string& method);

// Copies or samples every module tensor of `from` into the tensor of the same name of `to`. A destination tensor
// with no counterpart, or of another shape, is one line naming it (nothing is copied then).
void port_modules(const Adaptation& from, Adaptation& to, const std::string& mode, uint64_t seed);

// The same for named host tensors (the head, when origin and destination tasks are one task).
void port_tensors(const std::vector<std::pair<std::string, at::Tensor>>& from,
                  const std::vector<std::pair<std::string, at::Tensor>>& to, const std::string& mode, uint64_t seed);

}  // namespace tal
