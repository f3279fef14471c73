// The parameters a run trains, with their AdamW moments and EMA: what a checkpoint saves and a resume restores,
// for the hypernetwork (tal train) and the ancestry ViT (tal ancestry train) alike.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "trainer/files/checkpoint.h"
#include "trainer/train/optimizer.h"

namespace tal {

class Communicator;

struct ModelState {
  NamedTensors named;              // registration order: the checkpoint contract
  std::vector<at::Tensor> params;  // the same tensors
  std::unique_ptr<AdamW> optim;
  std::vector<at::Tensor> ema;     // empty unless an EMA decay is set

  ModelState(NamedTensors named, double weight_decay, bool with_ema);
  // Fresh moments and step count (stage 2 starts its own schedule).
  void reset_optimizer(double weight_decay);
  int64_t numel() const;
  // Makes every rank hold rank 0's values, and proves it with a checksum.
  void broadcast_from_rank0(Communicator& comm);
  // Parameters, moments and EMA into a checkpoint.
  void capture(Checkpoint& c) const;
  // Checks that `c` was made by the same model (names and shapes), then copies its values in.
  void restore(const std::string& path, const Checkpoint& c);
  // Copies the parameters whose name and shape match; returns how many did (tal train's train.init).
  int64_t load_matching(const NamedTensors& weights);
};

}  // namespace tal
