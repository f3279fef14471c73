#include "datasets/tasks.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <set>

#include "base/error.h"
#include "base/suggest.h"
#include "base/hash.h"
#include "base/rng.h"
#include "datasets/bpe_tokenizer.h"

namespace tal {
namespace {

const std::vector<std::string> kTaskKeys = {"name",    "dataset",    "classes",      "transform", "flip",
                                            "heldout", "max_length", "crop_padding", "pack",      "metric"};

constexpr size_t kMaxSuiteClassNames = 1000000;

std::vector<TaskDef> parse_task_suite(const YAML::Node& root, const std::string& path);

template <class T>
T scalar(const YAML::Node& node, const std::string& where, const char* what) {
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    throw Error(where + ": expected " + what);
  }
}

}  // namespace

const std::vector<std::string>& task_transform_names() {
  static const std::vector<std::string> names = {"none", "rotate90", "rotate180", "rotate270", "invert", "hflip", "rgb32"};
  return names;
}

const std::vector<std::string>& task_metric_names() {
  static const std::vector<std::string> names = {"accuracy", "mcc"};
  return names;
}

std::string TaskDef::hash() const {
  std::string canon = dataset + "|" + transform;
  for (const auto& c : classes) canon += "|" + c;
  if (max_length > 0) canon += "|max_length=" + std::to_string(max_length);  // absent before text tasks: old hashes hold
  if (pack) canon += "|pack";
  return stable_hash_hex(canon);
}

std::vector<TaskDef> load_task_suite(const std::string& path) {
  TAL_REQUIRE(std::filesystem::is_regular_file(path), path, ": task suite not found");
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw Error(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  try {
    return parse_task_suite(root, path);
  } catch (const YAML::Exception& e) {  // a key that is not a scalar, and the like
    throw Error(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

namespace {

std::vector<TaskDef> parse_task_suite(const YAML::Node& root, const std::string& path) {
  TAL_REQUIRE(root.IsMap() && root["tasks"] && root["tasks"].IsSequence(), path,
              ": expected a 'tasks:' list of task mappings");
  for (const auto& kv : root) {
    const auto key = kv.first.as<std::string>();
    TAL_REQUIRE(key == "tasks" || key == "suite", path, ": unknown top-level key '", key, "' (expected tasks, suite)");
  }
  std::vector<TaskDef> out;
  std::set<std::string> names;
  int index = 0;
  size_t class_names = 0;
  for (const auto& node : root["tasks"]) {
    const std::string where0 = path + ": tasks[" + std::to_string(index++) + "]";
    TAL_REQUIRE(node.IsMap(), where0, ": expected a mapping");
    TaskDef t;
    TAL_REQUIRE(node["name"], where0, ": missing key 'name'");
    t.name = scalar<std::string>(node["name"], where0 + ": key 'name'", "a string");
    const std::string where = path + ": task '" + t.name + "'";
    for (const auto& kv : node) {
      const auto key = kv.first.as<std::string>();
      if (std::find(kTaskKeys.begin(), kTaskKeys.end(), key) == kTaskKeys.end()) {
        const auto near = nearest_name(key, kTaskKeys);
        throw Error(where + ": unknown key '" + key + "'" + (near.empty() ? "" : " (did you mean '" + near + "'?)"));
      }
    }
    TAL_REQUIRE(names.insert(t.name).second, where, ": duplicate task name");
    TAL_REQUIRE(node["dataset"], where, ": missing key 'dataset'");
    t.dataset = scalar<std::string>(node["dataset"], where + ": key 'dataset'", "a file name");
    if (node["classes"]) {
      TAL_REQUIRE(node["classes"].IsSequence() && node["classes"].size() > 0, where,
                  ": key 'classes': expected a non-empty list of class names or indices");
      // Aliases may name one list from many tasks: the names read in all are bounded, not just the file's size.
      class_names += node["classes"].size();
      TAL_REQUIRE(class_names <= kMaxSuiteClassNames, path, ": more than ", kMaxSuiteClassNames,
                  " class names in all once its aliases are expanded");
      for (const auto& c : node["classes"]) t.classes.push_back(scalar<std::string>(c, where + ": key 'classes'", "names"));
    }
    if (node["transform"]) {
      t.transform = scalar<std::string>(node["transform"], where + ": key 'transform'", "a string");
      TAL_REQUIRE(is_one_of(t.transform, task_transform_names()), where, ": key 'transform': unknown '", t.transform,
                  "' (expected ", join_choices(task_transform_names()), ")", did_you_mean(t.transform, task_transform_names()));
    }
    if (node["flip"]) t.flip = scalar<bool>(node["flip"], where + ": key 'flip'", "true or false");
    if (node["heldout"]) t.heldout = scalar<bool>(node["heldout"], where + ": key 'heldout'", "true or false");
    if (node["crop_padding"]) {
      t.crop_padding = scalar<int64_t>(node["crop_padding"], where + ": key 'crop_padding'", "an integer");
      TAL_REQUIRE(t.crop_padding >= 0, where, ": key 'crop_padding': must be >= 0");
    }
    if (node["max_length"]) {
      t.max_length = scalar<int64_t>(node["max_length"], where + ": key 'max_length'", "an integer");
      TAL_REQUIRE(t.max_length >= 2, where, ": key 'max_length': must be >= 2 tokens");
    }
    if (node["pack"]) t.pack = scalar<bool>(node["pack"], where + ": key 'pack'", "true or false");
    if (node["metric"]) {
      t.metric = scalar<std::string>(node["metric"], where + ": key 'metric'", "a string");
      TAL_REQUIRE(is_one_of(t.metric, task_metric_names()), where, ": key 'metric': unknown '", t.metric, "' (expected ",
                  join_choices(task_metric_names()), ")", did_you_mean(t.metric, task_metric_names()));
      TAL_REQUIRE(!t.pack || t.metric == "accuracy", where, ": key 'metric': ", t.metric,
                  " is for classification; a language-model corpus reports accuracy and perplexity");
    }
    out.push_back(std::move(t));
  }
  TAL_REQUIRE(!out.empty(), path, ": no tasks");
  return out;
}

}  // namespace

Task::Task(TaskDef def, std::shared_ptr<const TaskStore> store) : def_(std::move(def)), store_(std::move(store)) {
  const std::string where = "task '" + def_.name + "' (" + store_->path() + ")";
  TAL_REQUIRE(def_.max_length == 0 && !def_.pack, where, ": keys 'max_length' and 'pack' are for text stores, and this one holds images");
  select_classes(store_->meta().classes, where, store_->labels(Split::Train), store_->labels(Split::Test));
}

Task::Task(TaskDef def, std::shared_ptr<const TextStore> store) : def_(std::move(def)), text_(std::move(store)) {
  const std::string where = "task '" + def_.name + "' (" + text_->path() + ")";
  TAL_REQUIRE(def_.transform == "none" && !def_.flip && def_.crop_padding == 0, where,
              ": keys 'transform', 'flip' and 'crop_padding' are for images, and this store holds text");
  if (def_.max_length == 0) def_.max_length = text_->max_length();
  TAL_REQUIRE(def_.pack || def_.max_length <= text_->max_length(), where, ": key 'max_length': ", def_.max_length,
              " is longer than the store's sequences (", text_->max_length(), " tokens; re-import with a larger --max-tokens)");
  select_classes(text_->meta().classes, where, text_->split(Split::Train).labels, text_->split(Split::Test).labels);
  if (!def_.pack) return;
  // The corpus: every selected text in store order, each followed by <|endoftext|>, cut into whole sequences.
  for (Split s : {Split::Train, Split::Test}) {
    const auto& split = text_->split(s);
    const auto& index = s == Split::Train ? train_index_ : test_index_;
    const auto* tok = split.tokens.data_ptr<int32_t>();
    const auto* len = split.lengths.data_ptr<int32_t>();
    const int64_t width = split.tokens.size(1);
    std::vector<int64_t> stream;
    for (auto i : index) {
      stream.insert(stream.end(), tok + i * width, tok + i * width + len[i]);
      stream.push_back(BpeTokenizer::kEndOfText);
    }
    const int64_t n = static_cast<int64_t>(stream.size()) / def_.max_length;
    TAL_REQUIRE(n > 0, where, ": the ", split_name(s), " texts hold ", stream.size(), " tokens, less than one sequence of ",
                def_.max_length);
    auto packed = at::from_blob(stream.data(), {n, def_.max_length}, at::kLong).clone();
    auto& positions = s == Split::Train ? train_index_ : test_index_;
    positions.resize(static_cast<size_t>(n));
    std::iota(positions.begin(), positions.end(), 0);
    (s == Split::Train ? train_label_ : test_label_).assign(static_cast<size_t>(n), 0);
    (s == Split::Train ? packed_train_ : packed_test_) = packed;
  }
}

void Task::select_classes(const std::vector<std::string>& all, const std::string& where, const at::Tensor& train_labels,
                          const at::Tensor& test_labels) {
  if (def_.classes.empty()) {
    for (size_t c = 0; c < all.size(); ++c) store_classes_.push_back(static_cast<int64_t>(c));
  } else {
    for (const auto& c : def_.classes) {
      auto it = std::find(all.begin(), all.end(), c);
      int64_t id = it == all.end() ? -1 : it - all.begin();
      if (id < 0 && !c.empty() && c.size() <= 9 && std::all_of(c.begin(), c.end(), ::isdigit)) {
        id = std::strtoll(c.c_str(), nullptr, 10);  // a class index (at most 9 digits: no overflow)
        if (id >= static_cast<int64_t>(all.size())) id = -1;
      }
      if (id < 0) {
        const auto near = nearest_name(c, all);
        throw Error(where + ": key 'classes': unknown class '" + c + "'" +
                    (near.empty() ? "" : " (did you mean '" + near + "'?)"));
      }
      TAL_REQUIRE(std::find(store_classes_.begin(), store_classes_.end(), id) == store_classes_.end(), where,
                  ": key 'classes': class '", c, "' listed twice");
      store_classes_.push_back(id);
    }
  }
  for (auto id : store_classes_) class_names_.push_back(all[static_cast<size_t>(id)]);
  std::vector<int64_t> relabel(all.size(), -1);
  for (size_t i = 0; i < store_classes_.size(); ++i) relabel[static_cast<size_t>(store_classes_[i])] = static_cast<int64_t>(i);
  for (Split s : {Split::Train, Split::Test}) {
    const auto labels = (s == Split::Train ? train_labels : test_labels).contiguous();
    const auto* l = labels.data_ptr<int64_t>();
    auto& index = s == Split::Train ? train_index_ : test_index_;
    auto& lab = s == Split::Train ? train_label_ : test_label_;
    for (int64_t i = 0; i < labels.numel(); ++i)
      if (relabel[static_cast<size_t>(l[i])] >= 0) {
        index.push_back(i);
        lab.push_back(relabel[static_cast<size_t>(l[i])]);
      }
    TAL_REQUIRE(!index.empty(), where, ": no ", split_name(s), is_text() ? " texts" : " images", " in the selected classes");
  }
}

const std::string& Task::store_path() const { return is_text() ? text_->path() : store_->path(); }

int64_t Task::sequence_length() const {
  TAL_ASSERT(is_text(), "task ", def_.name, " holds images");
  return def_.max_length;
}

int64_t Task::vocab_size() const {
  TAL_ASSERT(is_text(), "task ", def_.name, " holds images");
  return text_->meta().vocab_size;
}

Batch Task::load_text(Split s, const std::vector<int64_t>& positions) const {
  const auto& index = s == Split::Train ? train_index_ : test_index_;
  const auto& lab = s == Split::Train ? train_label_ : test_label_;
  std::vector<int64_t> rows, labels;
  for (auto p : positions) {
    TAL_ASSERT(p >= 0 && p < static_cast<int64_t>(index.size()), "position ", p, " outside task ", def_.name);
    rows.push_back(index[static_cast<size_t>(p)]);
    labels.push_back(lab[static_cast<size_t>(p)]);
  }
  const auto idx = at::tensor(rows, at::kLong);
  if (def_.pack) {
    auto seq = (s == Split::Train ? packed_train_ : packed_test_).index_select(0, idx);
    return {seq, seq};
  }
  auto tokens = text_->split(s).tokens.index_select(0, idx).narrow(1, 0, def_.max_length).to(at::kLong).contiguous();
  return {tokens, at::tensor(labels, at::kLong)};
}

int64_t Task::size(Split s) const {
  return static_cast<int64_t>((s == Split::Train ? train_index_ : test_index_).size());
}

std::vector<int64_t> Task::image_shape() const {
  TAL_ASSERT(!is_text(), "task ", def_.name, " holds text");
  auto s = store_->image_shape();
  if (def_.transform == "rgb32") return {3, std::max<int64_t>(32, s[1]), std::max<int64_t>(32, s[2])};
  return s;
}

at::Tensor Task::transform(const at::Tensor& x) const {
  const auto& t = def_.transform;
  if (t == "rotate90") return at::rot90(x, 1, {2, 3}).contiguous();
  if (t == "rotate180") return at::rot90(x, 2, {2, 3}).contiguous();
  if (t == "rotate270") return at::rot90(x, 3, {2, 3}).contiguous();
  if (t == "invert") return 255 - x;
  if (t == "hflip") return x.flip({3}).contiguous();
  if (t == "rgb32") {  // grey 28x28 -> RGB 32x32 (replicated channels, zero border), as CIFAR-sized models expect
    const int64_t ph = std::max<int64_t>(0, 32 - x.size(2)), pw = std::max<int64_t>(0, 32 - x.size(3));
    auto y = at::constant_pad_nd(x, {pw / 2, pw - pw / 2, ph / 2, ph - ph / 2}, 0);
    return y.size(1) == 3 ? y : y.expand({y.size(0), 3, y.size(2), y.size(3)}).contiguous();
  }
  return x;
}

Batch Task::load(Split s, const std::vector<int64_t>& positions, const std::vector<uint64_t>* augment_seeds) const {
  if (is_text()) return load_text(s, positions);
  const auto& index = s == Split::Train ? train_index_ : test_index_;
  const auto& lab = s == Split::Train ? train_label_ : test_label_;
  std::vector<int64_t> store_idx;
  std::vector<int64_t> labels;
  for (auto p : positions) {
    TAL_ASSERT(p >= 0 && p < static_cast<int64_t>(index.size()), "position ", p, " outside task ", def_.name);
    store_idx.push_back(index[static_cast<size_t>(p)]);
    labels.push_back(lab[static_cast<size_t>(p)]);
  }
  auto images = transform(store_->gather_images(s, store_idx));
  auto x = images.to(at::kFloat).div_(255.0);
  const auto& meta = store_->meta();
  const auto c = x.size(1);
  // Statistics of the store's channels (one grey channel is replicated when a transform made RGB).
  auto stat = [&](const std::vector<double>& v) {
    auto t = at::tensor(v, at::kDouble).to(at::kFloat);
    if (t.numel() != c) t = t.expand({c});
    return t.reshape({1, c, 1, 1});
  };
  x = (x - stat(meta.mean)) / stat(meta.std);
  if (augment_seeds && (def_.flip || def_.crop_padding > 0)) {
    TAL_ASSERT(augment_seeds->size() == positions.size());
    const int64_t pad = def_.crop_padding, h = x.size(2), w = x.size(3);
    // Zero padding in pixel space is -mean/std after normalisation.
    const auto fill = (-stat(meta.mean) / stat(meta.std)).reshape({c});
    for (int64_t i = 0; i < x.size(0); ++i) {
      SplitMix rng((*augment_seeds)[static_cast<size_t>(i)]);
      auto img = x[i];
      if (pad > 0) {
        auto padded = fill.view({c, 1, 1}).expand({c, h + 2 * pad, w + 2 * pad}).clone();
        padded.slice(1, pad, pad + h).slice(2, pad, pad + w).copy_(img);
        const int64_t dy = rng.uniform(0, 2 * pad), dx = rng.uniform(0, 2 * pad);
        img = padded.slice(1, dy, dy + h).slice(2, dx, dx + w);
      }
      if (def_.flip && rng.uniform(0, 1) == 1) img = img.flip({2});
      x[i].copy_(img);
    }
  }
  return {x, at::tensor(labels, at::kLong)};
}

std::vector<Task> resolve_tasks(const std::vector<TaskDef>& defs, const std::string& data_root, int64_t memory_limit) {
  std::map<std::string, std::shared_ptr<const TaskStore>> stores;
  std::map<std::string, std::shared_ptr<const TextStore>> texts;
  std::vector<Task> out;
  for (const auto& d : defs) {
    const std::string path = std::filesystem::path(d.dataset).is_absolute()
                                 ? d.dataset
                                 : (std::filesystem::path(data_root) / d.dataset).string();
    if (!stores.count(path) && !texts.count(path)) {
      // Only text tasks have a length: the hint names the importers of the kind of store the task reads.
      TAL_REQUIRE(std::filesystem::exists(path), "task '", d.name, "': dataset ", path, " not found (HINT: tal data import ",
                  d.max_length > 0 || d.pack ? "fortunes | table FILE | text-folder DIR" : "fashion-mnist | folder DIR | cifar DIR",
                  " --out ", path, ")");
      if (is_text_store(path))
        texts[path] = std::make_shared<const TextStore>(path);
      else
        stores[path] = std::make_shared<const TaskStore>(path, memory_limit);
    }
    if (texts.count(path))
      out.emplace_back(d, texts[path]);
    else
      out.emplace_back(d, stores[path]);
  }
  return out;
}

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, uint64_t stream, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  SplitMix rng(mix_seed(seed, 0x7A5C0000ull + stream, static_cast<uint64_t>(epoch)));
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(rng.uniform(0, i))]);
  return order;
}

std::vector<int64_t> shard(const std::vector<int64_t>& order, int64_t rank, int64_t world) {
  TAL_ASSERT(world > 0 && rank >= 0 && rank < world);
  const auto n = static_cast<int64_t>(order.size());
  const int64_t lo = n * rank / world, hi = n * (rank + 1) / world;
  return std::vector<int64_t>(order.begin() + lo, order.begin() + hi);
}

int64_t TaskStream::at(int64_t position) {
  const int64_t epoch = position / n_;
  if (epoch != cached_epoch_) {
    order_ = epoch_order(n_, seed_, stream_, epoch);
    cached_epoch_ = epoch;
  }
  return order_[static_cast<size_t>(position % n_)];
}

}  // namespace tal
