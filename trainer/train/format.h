// Number formatting shared by the CLI's reports.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tal {

std::string with_commas(int64_t v);
std::string mib(int64_t bytes);  // "12.3 MiB"
double median(std::vector<double> v);

}  // namespace tal
