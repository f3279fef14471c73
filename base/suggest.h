// "Did you mean ...?" for error messages, the one way a list of valid choices is written into a message, and the
// bound on what a message echoes.
#pragma once

#include <string>
#include <vector>

namespace tal {

// The candidate closest to `key` by edit distance (whole name or its last dotted component), or "" if none is close.
std::string nearest_name(const std::string& key, const std::vector<std::string>& candidates);

// "a, b or c".
std::string join_choices(const std::vector<std::string>& choices);

// " (did you mean 'x'?)" when a candidate is close, else "".
std::string did_you_mean(const std::string& key, const std::vector<std::string>& candidates);

bool is_one_of(const std::string& value, const std::vector<std::string>& choices);

// `message` with every run of more than `longest` characters without a space (a value a file or the command line
// gave, echoed back) cut to its start and end around "...[N bytes]...": a 100 MB config value is not echoed whole.
std::string elide_long_words(const std::string& message, size_t longest = 512);

}  // namespace tal
