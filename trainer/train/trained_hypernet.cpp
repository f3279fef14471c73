#include "trainer/train/trained_hypernet.h"

#include <filesystem>

#include "base/error.h"
#include "hypernet/family.h"
#include "trainer/config/commands.h"
#include "trainer/config/settings.h"
#include "trainer/files/ancestry_file.h"
#include "trainer/files/checkpoint.h"

namespace tal {

void attach_ancestry(Hypernet& net, const std::string& family, const std::string& ancestry_path,
                     const std::string& expected_hash, const std::string& origin) {
  if (!net.config().inherits()) return;
  TAL_REQUIRE(std::filesystem::exists(ancestry_path), origin, ": an inheriting hypernetwork (hypernet.base=ancestry) "
              "starts from the ancestry model ", ancestry_path, ", which does not exist (key 'ancestry.checkpoint')");
  const AncestryModel ancestry = load_ancestry(ancestry_path);
  TAL_REQUIRE(ancestry.spec.family().name() == family, origin, ": the ancestry ", ancestry_path, " is a ",
              ancestry.spec.family().name(), " model; an inheriting ", family, " hypernetwork needs a ", family,
              " ancestry");
  TAL_REQUIRE(expected_hash.empty() || ancestry.content_hash == expected_hash, origin,
              ": the hypernetwork was trained from an ancestry with content hash ", expected_hash, ", but ",
              ancestry_path, " has ", ancestry.content_hash, " (another or a retrained ancestry)");
  net.set_base(ancestry.spec, ancestry.params, ancestry.content_hash);
}

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
  attach_ancestry(*t.net, t.run.zoo.family, t.run.ancestry.checkpoint, ckpt.base_hash, "key '" + key + "': " + t.path);
  ParamMap for_hash;
  for (const auto& [n, w] : weights) for_hash[n] = w;
  t.content_hash = params_hash(for_hash);
  t.step = ckpt.state.step;
  return t;
}

}  // namespace tal
