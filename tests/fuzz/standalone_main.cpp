// The fuzz targets without libFuzzer (any compiler): replays inputs (files, or every file under folders), then a
// fixed number of seeded random mutations of them, through run_checked. CI's smoke run; campaigns use libFuzzer.
//   tal_fuzz --list
//   tal_fuzz --make-seeds DIR                 the seed corpus of every target, in DIR/TARGET/
//   tal_fuzz TARGET|all [--mutations N] [--seed S] [--artifacts DIR] [--replay DIR]... INPUT_OR_DIR...
// Mutations are made of the INPUT_OR_DIRs only; --replay inputs (regressions: many still send HDF5 round a loop, and
// so would most of their mutations) run once each. With `all`, every folder holds a folder per target
// (DIR/TARGET/). Before each input runs it is written to ARTIFACTS/crash-TARGET, so the input that brought the
// process down is left there.
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "tests/fuzz/targets.h"

namespace fs = std::filesystem;
using Bytes = std::string;

namespace {

int usage() {
  std::fprintf(stderr, "usage: tal_fuzz --list | --make-seeds DIR | TARGET|all [--mutations N] [--seed S] "
                       "[--artifacts DIR] [--replay DIR]... INPUT_OR_DIR...\n");
  return 2;
}

Bytes read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<fs::path> files_under(const fs::path& p) {
  std::vector<fs::path> out;
  if (fs::is_regular_file(p)) out.push_back(p);
  if (fs::is_directory(p))
    for (const auto& e : fs::recursive_directory_iterator(p))
      if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// One to four of the classic byte-level mutations, with the integers readers trip on (sizes, counts, offsets).
Bytes mutate(Bytes b, const std::vector<Bytes>& pool, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n ? static_cast<size_t>(rng() % n) : 0; };
  static const uint64_t interesting[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
                                         0x7fffffffffffffffull, 0xffffffffffffffffull, 1ull << 40};
  for (int k = 1 + static_cast<int>(rng() % 4); k > 0; --k) {
    switch (rng() % 7) {
      case 0:  // flip a bit
        if (!b.empty()) b[pick(b.size())] ^= static_cast<char>(1 << (rng() % 8));
        break;
      case 1:  // a random byte
        if (!b.empty()) b[pick(b.size())] = static_cast<char>(rng());
        break;
      case 2: {  // an interesting integer, 1, 2, 4 or 8 bytes, either endianness
        if (b.empty()) break;
        const uint64_t v = interesting[pick(std::size(interesting))];
        const size_t width = size_t{1} << (rng() % 4), at = pick(b.size());
        const bool big = rng() & 1;
        for (size_t i = 0; i < width && at + i < b.size(); ++i)
          b[at + i] = static_cast<char>(v >> (8 * (big ? width - 1 - i : i)));
        break;
      }
      case 3:  // truncate
        b.resize(pick(b.size() + 1));
        break;
      case 4: {  // delete a chunk
        if (b.empty()) break;
        const size_t at = pick(b.size());
        b.erase(at, 1 + pick(std::min<size_t>(64, b.size() - at)));
        break;
      }
      case 5: {  // insert a copy of a chunk (of itself or another input)
        const Bytes& from = pool[pick(pool.size())];
        if (from.empty()) break;
        const size_t at = pick(from.size()), len = 1 + pick(std::min<size_t>(64, from.size() - at));
        b.insert(pick(b.size() + 1), from.substr(at, len));
        break;
      }
      default: {  // splice: this input's head, another's tail
        const Bytes& other = pool[pick(pool.size())];
        b = b.substr(0, pick(b.size() + 1)) + other.substr(pick(other.size() + 1));
      }
    }
  }
  return b;
}

struct Counts {
  size_t inputs = 0, replayed = 0, mutations = 0;
};

Counts run_target(const tal::fuzz::Target& t, const std::vector<fs::path>& roots, const std::vector<fs::path>& replay,
                  bool per_target, long mutations, uint64_t seed, const fs::path& artifacts) {
  std::vector<Bytes> pool, once;
  for (const auto& r : roots)
    for (const auto& f : files_under(per_target ? r / t.name : r)) pool.push_back(read_all(f));
  for (const auto& r : replay)
    for (const auto& f : files_under(per_target ? r / t.name : r)) once.push_back(read_all(f));
  const auto crash = artifacts / (std::string("crash-") + t.name);
  auto one = [&](const Bytes& b) {
    { std::ofstream(crash, std::ios::binary | std::ios::trunc).write(b.data(), static_cast<std::streamsize>(b.size())); }
    tal::fuzz::run_checked(t, reinterpret_cast<const uint8_t*>(b.data()), b.size());
  };
  Counts c;
  for (const auto& b : pool) one(b), ++c.inputs;
  for (const auto& b : once) one(b), ++c.replayed;
  if (pool.empty()) pool.push_back(Bytes());
  std::mt19937_64 rng(seed);
  for (long i = 0; i < mutations; ++i) one(mutate(pool[rng() % pool.size()], pool, rng)), ++c.mutations;
  fs::remove(crash);
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string first = argv[1];
  if (first == "--list") {
    for (const auto& t : tal::fuzz::targets()) std::printf("%-18s %s\n", t.name, t.reads);
    return 0;
  }
  if (first == "--make-seeds") {
    if (argc != 3) return usage();
    for (const auto& t : tal::fuzz::targets()) t.seeds((fs::path(argv[2]) / t.name).string());
    return 0;
  }
  long mutations = 0;
  uint64_t seed = 1;
  fs::path artifacts = ".";
  std::vector<fs::path> roots, replay;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--mutations" || a == "--seed" || a == "--artifacts" || a == "--replay") && i + 1 < argc) {
      const std::string v = argv[++i];
      if (a == "--artifacts") artifacts = v;
      else if (a == "--replay") replay.push_back(v);
      else if (a == "--seed") seed = std::stoull(v);
      else mutations = std::stol(v);
    } else if (a.rfind("--", 0) == 0) {
      return usage();
    } else {
      roots.push_back(a);
    }
  }
  at::set_num_threads(1);
  std::vector<const tal::fuzz::Target*> chosen;
  if (first == "all") {
    for (const auto& t : tal::fuzz::targets()) chosen.push_back(&t);
  } else if (const auto* t = tal::fuzz::find_target(first)) {
    chosen.push_back(t);
  } else {
    std::fprintf(stderr, "tal_fuzz: unknown target '%s' (--list lists them)\n", first.c_str());
    return 2;
  }
  fs::create_directories(artifacts);
  for (const auto* t : chosen) {
    const auto start = std::chrono::steady_clock::now();
    const auto c = run_target(*t, roots, replay, first == "all", mutations, seed, artifacts);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (c.inputs == 0) {
      std::fprintf(stderr, "tal_fuzz: %s: no inputs under the given folders (no seed corpus?)\n", t->name);
      return 1;
    }
    std::printf("fuzz %-16s %3zu inputs + %2zu regressions + %4zu mutations (seed %llu) passed in %.1f s\n", t->name,
                c.inputs, c.replayed, c.mutations, static_cast<unsigned long long>(seed), s);
    std::fflush(stdout);
  }
  return 0;
}
