#include "hypernet/zoo.h"

#include <algorithm>

#include "hypernet/error.h"

namespace tal {
namespace {

std::vector<int64_t> range(int64_t lo, int64_t hi, int64_t step) {
  std::vector<int64_t> out;
  for (int64_t v = lo; v <= hi; v += step) out.push_back(v);
  return out;
}

// LoGAH's head rule (vit_generator.py): widths divisible by 12 -> {3,6,12}, by 6 -> {3,6}, by 3 -> 3, else {4,8}.
int64_t vit_heads(SplitMix& rng, int64_t width) {
  if (width % 12 == 0) return rng.pick(std::vector<int64_t>{3, 6, 12});
  if (width % 6 == 0) return rng.pick(std::vector<int64_t>{3, 6});
  if (width % 3 == 0) return 3;
  return rng.pick(std::vector<int64_t>{4, 8});
}

std::vector<int64_t> vit_patches(const ZooRules& r) {
  // 32x32-class images use patch 2 or 4 (CIFAR in LoGAH), 224-class images 16 or 32; keep those dividing the image.
  std::vector<int64_t> candidates = r.image <= 64 ? std::vector<int64_t>{2, 4} : std::vector<int64_t>{16, 32};
  if (r.profile == "cpu-small") candidates = r.image <= 64 ? std::vector<int64_t>{4} : std::vector<int64_t>{16};
  std::vector<int64_t> ok;
  for (auto p : candidates)
    if (r.image % p == 0) ok.push_back(p);
  TAL_REQUIRE(!ok.empty(), "zoo: no patch size in {", candidates.front(), ", ...} divides image ", r.image);
  return ok;
}

ArchSpec sample_vits_1k(const ZooRules& r, SplitMix& rng) {
  const bool small = r.profile == "cpu-small";
  ArchSpec s = ArchSpec::defaults(Family::Vit);
  // Deeper nets are narrower.
  if (small) {
    s.depth = rng.uniform(3, 6);
    s.width = rng.pick(s.depth >= 5 ? range(64, 128, 32) : s.depth == 4 ? range(96, 160, 32) : range(128, 192, 32));
  } else {
    s.depth = rng.uniform(3, 9);
    s.width = rng.pick(s.depth > 5 ? range(128, 256, 32) : s.depth >= 4 ? range(256, 384, 32) : range(384, 512, 32));
  }
  s.heads = vit_heads(rng, s.width);
  s.patch = rng.pick(vit_patches(r));
  return s;
}

ArchSpec sample_vits_plus_1k(const ZooRules& r, SplitMix& rng) {
  const bool small = r.profile == "cpu-small";
  ArchSpec s = ArchSpec::defaults(Family::Vit);
  s.depth = small ? rng.uniform(3, 6) : rng.uniform(3, 12);
  s.width = rng.pick(small ? range(64, 192, 32) : range(192, 768, 64));
  s.heads = vit_heads(rng, s.width);
  s.patch = rng.pick(vit_patches(r));
  return s;
}

ArchSpec sample_gpts_1k(const ZooRules& r, SplitMix& rng) {
  const bool small = r.profile == "cpu-small";
  ArchSpec s = ArchSpec::defaults(Family::Gpt2);
  s.vocab = r.vocab;
  s.context = r.context;
  s.heads = 8;  // every width below is a multiple of 8, so LoGAH's 6- and 4-head branches never fire
  // Models above 50M parameters are rejected and redrawn, as in GPTs-1K.
  for (int attempt = 0; attempt < 1000; ++attempt) {
    if (small) {
      s.depth = rng.uniform(2, 4);
      s.width = rng.pick(range(32, 96, 16));
    } else {
      s.depth = rng.uniform(3, 9);
      s.width = rng.pick(s.depth > 5 ? range(72, 176, 8) : s.depth >= 4 ? range(128, 176, 8) : range(176, 256, 8));
    }
    s.mlp = 4 * s.width;
    if (count_params(s, false) <= 50'000'000) return s;
  }
  TAL_REQUIRE(false, "zoo: gpts-1k could not draw a model under 50M parameters with vocab ", r.vocab);
  return s;
}

}  // namespace

uint64_t SplitMix::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int64_t SplitMix::uniform(int64_t lo, int64_t hi) {
  TAL_ASSERT(lo <= hi);
  const auto span = static_cast<unsigned __int128>(hi - lo + 1);
  return lo + static_cast<int64_t>((static_cast<unsigned __int128>(next()) * span) >> 64);
}

double SplitMix::uniform01() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

uint64_t mix_seed(uint64_t seed, uint64_t stream, uint64_t index) {
  SplitMix a(seed ^ 0x5DEECE66Dull);
  SplitMix b(a.next() ^ (stream * 0xD1B54A32D192ED03ull));
  SplitMix c(b.next() ^ (index * 0xABC98388FB8FAC03ull));
  return c.next();
}

const std::vector<std::string>& zoo_rule_names() {
  static const std::vector<std::string> names = {"vits-1k", "vits+-1k", "gpts-1k"};
  return names;
}

const std::vector<std::string>& zoo_profile_names() {
  static const std::vector<std::string> names = {"paper", "cpu-small"};
  return names;
}

Family ZooRules::family() const { return rules == "gpts-1k" ? Family::Gpt2 : Family::Vit; }

void ZooRules::validate() const {
  const auto& rn = zoo_rule_names();
  TAL_REQUIRE(std::find(rn.begin(), rn.end(), rules) != rn.end(), "zoo: unknown rules '", rules,
              "' (expected vits-1k, vits+-1k or gpts-1k)");
  const auto& pn = zoo_profile_names();
  TAL_REQUIRE(std::find(pn.begin(), pn.end(), profile) != pn.end(), "zoo: unknown profile '", profile,
              "' (expected paper or cpu-small)");
  TAL_REQUIRE(image > 0 && channels > 0 && classes > 0 && vocab > 0 && context > 0,
              "zoo: image, channels, classes, vocab and context must be positive");
}

ArchSpec sample_arch(const ZooRules& r, uint64_t seed, uint64_t index) {
  r.validate();
  SplitMix rng(mix_seed(seed, /*stream=*/1, index));
  ArchSpec s = r.rules == "vits-1k" ? sample_vits_1k(r, rng)
               : r.rules == "vits+-1k" ? sample_vits_plus_1k(r, rng)
                                       : sample_gpts_1k(r, rng);
  if (s.family == Family::Vit) {
    s.mlp = 4 * s.width;
    s.image = r.image;
    s.channels = r.channels;
    s.classes = r.classes;
  }
  s.validate();
  return s;
}

std::vector<ArchSpec> sample_zoo(const ZooRules& r, uint64_t seed, int64_t n) {
  TAL_REQUIRE(n >= 0, "zoo: n must be >= 0, got ", n);
  std::vector<ArchSpec> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out.push_back(sample_arch(r, seed, static_cast<uint64_t>(i)));
  return out;
}

}  // namespace tal
