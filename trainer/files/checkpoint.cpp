#include "trainer/files/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "datasets/atomic_file.h"
#include "datasets/h5.h"
#include "datasets/h5_check.h"
#include "trainer/files/file_kind.h"

namespace tal {
namespace fs = std::filesystem;
namespace {

void write_group(H5File& f, const std::string& group, const NamedTensors& tensors) {
  f.create_group(group);
  std::vector<std::string> names;
  for (const auto& [name, t] : tensors) {
    f.write(group + "/" + name, t.detach().to(at::kCPU));
    names.push_back(name);
  }
  f.write_strings(group + "/.names", names);  // registration order, which the loader restores
}

NamedTensors read_group(const H5File& f, const std::string& group) {
  NamedTensors out;
  if (!f.exists(group)) return out;
  f.require(group + "/.names", {"string"}, 1);
  for (const auto& name : f.read_strings(group + "/.names")) {
    f.require(group + "/" + name, {"float32"});
    out.emplace_back(name, f.read(group + "/" + name));
  }
  return out;
}

int64_t step_of(const std::string& filename) {
  if (filename.rfind("step_", 0) != 0 || filename.size() < 9 || filename.substr(filename.size() - 3) != ".h5") return -1;
  try {
    return std::stoll(filename.substr(5, filename.size() - 8));
  } catch (...) {
    return -1;
  }
}

}  // namespace

std::string checkpoint_dir(const std::string& run_dir) { return (fs::path(run_dir) / "ckpt").string(); }

std::string checkpoint_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step_%08lld.h5", static_cast<long long>(step));
  return buf;
}

std::string write_checkpoint(const std::string& run_dir, const Checkpoint& c, const CheckpointRetention& retention,
                             const std::function<void()>& midway) {
  const auto dir = checkpoint_dir(run_dir);
  fs::create_directories(dir);
  const auto path = (fs::path(dir) / checkpoint_name(c.state.step)).string();
  write_atomically(path, [&](const std::string& tmp) {
    H5File f(tmp, H5File::Mode::Truncate);
    stamp_kind(f, "tal-checkpoint", kCheckpointFormat);
    f.set_attr("/", "step", c.state.step);
    f.set_attr("/", "world_size", c.world);
    f.set_attr("/", "git_revision", c.git_revision);
    f.set_attr("/", "config_yaml", c.config_yaml);
    f.set_attr("/", "hypernet_variant", c.hypernet_variant);
    f.set_attr("/", "hypernet", c.hypernet_describe);
    f.set_attr("/", "base_hash", c.base_hash);
    f.set_attr("/state", "bad_steps", c.state.bad_steps);
    f.set_attr("/state", "skipped_steps", c.state.skipped_steps);
    f.set_attr("/state", "optimizer_steps", c.state.optimizer_steps);
    f.write("/state/cursors", at::tensor(c.state.cursors, at::kLong));
    f.set_attr("/", "model", c.model);
    write_group(f, "/" + c.model, c.weights);
    if (midway) midway();
    write_group(f, "/optimizer/exp_avg", c.exp_avg);
    write_group(f, "/optimizer/exp_avg_sq", c.exp_avg_sq);
    if (!c.ema.empty()) write_group(f, "/ema", c.ema);
    for (size_t r = 0; r < c.rng.size(); ++r) f.write("/rng/rank_" + std::to_string(r), c.rng[r]);
  });
  // Only now does `latest` move, and atomically too.
  write_atomically((fs::path(dir) / "latest").string(), [&](const std::string& tmp) {
    std::ofstream(tmp) << checkpoint_name(c.state.step) << "\n";
  });
  std::vector<int64_t> steps;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto s = step_of(e.path().filename().string());
    if (s >= 0) steps.push_back(s);
  }
  std::sort(steps.rbegin(), steps.rend());
  for (size_t i = 0; i < steps.size(); ++i) {
    const bool recent = static_cast<int64_t>(i) < retention.keep;
    const bool milestone = retention.keep_every > 0 && steps[i] % retention.keep_every == 0;
    if (!recent && !milestone && steps[i] != c.state.step) fs::remove(fs::path(dir) / checkpoint_name(steps[i]));
  }
  return path;
}

std::string latest_checkpoint(const std::string& run_dir) {
  const auto pointer = fs::path(checkpoint_dir(run_dir)) / "latest";
  if (!fs::exists(pointer)) return "";
  std::ifstream in(pointer);
  std::string name;
  std::getline(in, name);
  const auto path = fs::path(checkpoint_dir(run_dir)) / name;
  TAL_REQUIRE(!name.empty() && fs::exists(path), pointer.string(), ": names '", name, "', which does not exist");
  return path.string();
}

std::string checkpoint_to_resume(const std::string& run_dir, const std::string& from, bool allowed) {
  if (!from.empty()) {
    const std::string path = fs::is_directory(from) ? latest_checkpoint(from) : from;
    TAL_REQUIRE(!path.empty(), from, ": no checkpoint to resume from");
    return path;
  }
  const std::string path = latest_checkpoint(run_dir);
  TAL_REQUIRE(path.empty() || allowed, run_dir, " already holds checkpoint ", path,
              "; --no-resume refuses to continue it (HINT: choose another run.dir, or drop --no-resume)");
  return path;
}

Checkpoint read_checkpoint(const std::string& path) {
  rehearse_in_child(path, "checkpoint", [&] { (void)read_checkpoint(path); });  // a file that crashes HDF5 crashes a child
  H5File f(path, H5File::Mode::Read);
  const int64_t version = require_kind_versions(f, "tal-checkpoint", 1, kCheckpointFormat, "checkpoint",
                                                "make one with tal train");
  Checkpoint c;
  c.state.step = f.attr_int("/", "step");
  c.world = f.attr_int("/", "world_size");
  c.git_revision = f.attr_str("/", "git_revision");
  c.config_yaml = f.attr_str("/", "config_yaml");
  c.hypernet_variant = f.attr_str("/", "hypernet_variant");
  c.hypernet_describe = f.attr_str("/", "hypernet");
  if (version >= 2) c.base_hash = f.attr_str("/", "base_hash");
  c.state.bad_steps = f.attr_int("/state", "bad_steps");
  c.state.skipped_steps = f.attr_int("/state", "skipped_steps");
  c.state.optimizer_steps = f.attr_int("/state", "optimizer_steps");
  f.require("/state/cursors", {"int64"}, 1);
  const auto cursors = f.read("/state/cursors");
  c.state.cursors.assign(cursors.data_ptr<int64_t>(), cursors.data_ptr<int64_t>() + cursors.numel());
  c.model = f.has_attr("/", "model") ? f.attr_str("/", "model") : "hypernet";
  TAL_REQUIRE(c.model == "hypernet" || c.model == "ancestry", path, ": unknown model '", c.model, "' in the checkpoint");
  c.weights = read_group(f, "/" + c.model);
  c.exp_avg = read_group(f, "/optimizer/exp_avg");
  c.exp_avg_sq = read_group(f, "/optimizer/exp_avg_sq");
  c.ema = read_group(f, "/ema");
  TAL_REQUIRE(!c.weights.empty(), path, ": no ", c.model, " parameters");
  TAL_REQUIRE(c.exp_avg.size() == c.weights.size() && c.exp_avg_sq.size() == c.weights.size(), path,
              ": optimizer state does not match the ", c.model, " parameters");
  for (size_t i = 0; i < c.weights.size(); ++i) {
    const auto& [name, w] = c.weights[i];
    TAL_REQUIRE(c.exp_avg[i].first == name && c.exp_avg_sq[i].first == name &&
                    c.exp_avg[i].second.sizes() == w.sizes() && c.exp_avg_sq[i].second.sizes() == w.sizes(),
                path, ": the optimizer moments of '", name, "' do not match its shape or order");
    TAL_REQUIRE(c.ema.empty() || (c.ema[i].first == name && c.ema[i].second.sizes() == w.sizes()), path,
                ": the EMA of '", name, "' does not match its shape or order");
  }
  TAL_REQUIRE(c.state.step >= 0 && c.world >= 1 && c.state.optimizer_steps >= 0, path,
              ": step, world_size or optimizer_steps out of range");
  for (auto v : c.state.cursors) TAL_REQUIRE(v >= 0, path, ": '/state/cursors' holds a negative cursor");
  if (f.exists("/rng"))
    for (int64_t r = 0; r < c.world; ++r)
      if (f.is_dataset("/rng/rank_" + std::to_string(r))) {
        f.require("/rng/rank_" + std::to_string(r), {"uint8"}, 1);
        c.rng.push_back(f.read("/rng/rank_" + std::to_string(r)));
      }
  return c;
}

void check_compatible(const std::string& path, const Checkpoint& c, const NamedTensors& expected) {
  const std::string other = path + ": made by another " + c.model + " (" + c.hypernet_describe + ")";
  for (const auto& [key, t] : expected) {
    const std::string& name = key;  // a lambda may not capture a structured binding before C++20 (clang refuses)
    auto it = std::find_if(c.weights.begin(), c.weights.end(), [&](const auto& p) { return p.first == name; });
    TAL_REQUIRE(it != c.weights.end(), other, ": it has no parameter '", name, "'");
    TAL_REQUIRE(it->second.sizes() == t.sizes(), other, ": '", name, "' is ", it->second.sizes(), " there, ", t.sizes(),
                " here");
  }
  TAL_REQUIRE(c.weights.size() == expected.size(), other, ": ", c.weights.size(), " parameters there, ",
              expected.size(), " here");
}

}  // namespace tal
