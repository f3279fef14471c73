// Process resource figures for benchmarks and progress lines: resident memory now and at its peak.
#pragma once

#include <cstdint>

namespace tal {

int64_t current_rss_bytes();
int64_t peak_rss_bytes();
// Resets the kernel's peak-RSS counter (Linux >= 4.0) so a later peak_rss_bytes() covers only what follows.
bool reset_peak_rss();

}  // namespace tal
