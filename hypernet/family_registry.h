// The registered architecture families (hypernet/family.h), looked up by name or by zoo rules. No LibTorch here.
#pragma once

#include <string>
#include <vector>

namespace tal {

class Family;

// In registration order (family_registry.cpp); the first is the default family.
const std::vector<const Family*>& families();
std::vector<std::string> family_names();
// Throws naming the known families.
const Family& find_family(const std::string& name);
// The family whose zoo_rules() contain `rules`; throws naming every known rule set.
const Family& family_of_rules(const std::string& rules);
std::vector<std::string> all_zoo_rules();

}  // namespace tal
