// Allocation failures a training step can survive, told apart from every other error: the host's (std::bad_alloc,
// LibTorch's CPU allocator) and a GPU's (CUDA out of memory). Only these are agreed on by the ranks and skipped
// (DESIGN 4.4); anything else still ends the job.
#pragma once

#include <exception>
#include <functional>
#include <string>

namespace tal {

// The allocator's message (its first line, at most 240 characters) when `e` is an allocation failure, else "".
std::string out_of_memory_text(const std::exception& e);

// Runs `f`. Returns "" when it finished and the allocator's message when it ran out of memory; rethrows anything
// else.
std::string run_unless_out_of_memory(const std::function<void()>& f);

}  // namespace tal
