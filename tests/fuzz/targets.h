// Fuzz targets for every reader of a file a user may be handed (DESIGN.md 4.5 formats, configs, importers, the
// tokenizer), in one binary: TAL_FUZZ_TARGET names the target. Built two ways: with clang's libFuzzer for campaigns
// (launch/fuzz.sh), and with the project's compiler around a small standalone driver (standalone_main.cpp) that
// replays the seed corpus, the regression inputs and a fixed number of mutations in CI.
//
// The contract every target checks: a reader given any bytes returns, or throws tal::Error whose one-line message
// names the file it read. Anything else (a crash, a sanitizer report, another exception type such as LibTorch's or
// std::bad_alloc, a message naming no file, a hang) is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tal::fuzz {

struct Target {
  const char* name;
  const char* reads;                            // what the target feeds its input to
  void (*run)(const uint8_t* data, size_t size);  // throws tal::Error for input the reader refuses
  void (*seeds)(const std::string& dir);        // writes small valid inputs (the seed corpus) into dir
};

const std::vector<Target>& targets();
const Target* find_target(const std::string& name);  // nullptr when unknown

// Runs one input through a target and enforces the contract above: returns normally, or aborts the process with a
// line saying what broke it (so libFuzzer and the standalone driver both record the input).
void run_checked(const Target& target, const uint8_t* data, size_t size);

// Inputs made of several files (IDX images and labels, a config and its overrides) are the files' bytes joined by
// this line; a mutation that breaks it yields fewer parts, which the target handles as missing files.
inline constexpr char kPartSeparator[] = "\n%%tal-fuzz-part%%\n";

}  // namespace tal::fuzz
