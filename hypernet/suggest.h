// "Did you mean ...?" for error messages: the closest of a set of valid names.
#pragma once

#include <string>
#include <vector>

namespace tal {

// The candidate closest to `key` by edit distance (whole name or its last dotted component), or "" if none is close.
std::string nearest_name(const std::string& key, const std::vector<std::string>& candidates);

}  // namespace tal
