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
// An inheriting hypernetwork gets its ancestry attached (attach_ancestry, from the run's ancestry.checkpoint).
TrainedHypernet load_trained_hypernet(const std::string& checkpoint_or_dir, bool use_ema, const std::string& key);

// For an inheriting hypernetwork (hypernet.base=ancestry): reads the ancestry model at `ancestry_path`, checks it
// is of the hypernetwork's zoo family and, when `expected_hash` is not empty, that it is the one the checkpoint was
// trained from, and attaches it (Hypernet::set_base). Nothing for base=none. `origin` starts every error.
void attach_ancestry(Hypernet& net, const std::string& family, const std::string& ancestry_path,
                     const std::string& expected_hash, const std::string& origin);

}  // namespace tal
