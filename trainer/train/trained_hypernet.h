// A trained hypernetwork read back from its checkpoint (tal train's run directory or one checkpoint file), ready
// to predict: the modules built from the run's own stored configuration, the EMA weights when the run kept them.
#pragma once

#include <memory>
#include <string>

#include "hypernet/hypernet.h"
#include "trainer/config/options.h"

namespace tal {

struct TrainedHypernet {
  std::string path;          // the checkpoint file
  int64_t step = 0;
  std::string content_hash;  // of the weights used
  bool ema = false;
  TalOptions run;            // the run's resolved configuration
  std::unique_ptr<Hypernet> net;
};

// `key` names the setting `checkpoint_or_dir` came from, for errors ("key 'finetune.tal': runs/x: no checkpoint").
TrainedHypernet load_trained_hypernet(const std::string& checkpoint_or_dir, bool use_ema, const std::string& key);

}  // namespace tal
