#include "trainer/train/trained_hypernet.h"

#include <filesystem>

#include "base/error.h"
#include "trainer/config/commands.h"
#include "trainer/config/settings.h"
#include "trainer/files/ancestry_file.h"
#include "trainer/files/checkpoint.h"

namespace tal {

TrainedHypernet load_trained_hypernet(const std::string& from, bool use_ema, const std::string& key) {
  TAL_REQUIRE(!from.empty(), "key '", key, "': give the checkpoint file or run directory of the hypernetwork");
  TAL_REQUIRE(std::filesystem::exists(from), "key '", key, "': ", from, ": no such file or directory");
  TrainedHypernet t;
  t.path = std::filesystem::is_directory(from) ? latest_checkpoint(from) : from;
  TAL_REQUIRE(!t.path.empty(), "key '", key, "': ", from, ": no checkpoint in this run directory");
  const Checkpoint ckpt = read_checkpoint(t.path);
  TAL_REQUIRE(ckpt.model == "hypernet", "key '", key, "': ", t.path, ": is a checkpoint of an ", ckpt.model,
              " run, not of a hypernetwork");
  const auto table = run_config_table();
  t.run = table.defaults();
  table.apply(t.run, read_yaml_text(ckpt.config_yaml, t.path + " (stored config)"));
  t.net = std::make_unique<Hypernet>(t.run.hypernet);
  check_compatible(t.path, ckpt, t.net->named_parameters());
  t.ema = use_ema && !ckpt.ema.empty();
  const auto& weights = t.ema ? ckpt.ema : ckpt.weights;
  t.net->load([&](const std::string& name) {
    for (const auto& [n, w] : weights)
      if (n == name) return w;
    return at::Tensor();
  });
  t.net->train(false);
  ParamMap for_hash;
  for (const auto& [n, w] : weights) for_hash[n] = w;
  t.content_hash = params_hash(for_hash);
  t.step = ckpt.state.step;
  return t;
}

}  // namespace tal
