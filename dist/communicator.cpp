#include "dist/communicator.h"

#include <unistd.h>

#include <map>

namespace tal {

std::string Communicator::describe_hosts() const {
  const auto all = hosts();
  std::vector<std::string> order;  // hosts in order of their first rank
  std::map<std::string, std::vector<int>> ranks;
  for (int r = 0; r < static_cast<int>(all.size()); ++r) {
    if (!ranks.count(all[static_cast<size_t>(r)])) order.push_back(all[static_cast<size_t>(r)]);
    ranks[all[static_cast<size_t>(r)]].push_back(r);
  }
  std::string out = std::to_string(all.size()) + (all.size() == 1 ? " rank" : " ranks") + " on " +
                    std::to_string(order.size()) + (order.size() == 1 ? " host: " : " hosts: ");
  for (size_t h = 0; h < order.size(); ++h) {
    const auto& rs = ranks[order[h]];
    std::string list;
    for (size_t i = 0; i < rs.size(); ++i) {
      size_t j = i;
      while (j + 1 < rs.size() && rs[j + 1] == rs[j] + 1) ++j;
      list += (list.empty() ? "" : ",") + std::to_string(rs[i]) + (j > i ? "-" + std::to_string(rs[j]) : "");
      i = j;
    }
    out += (h ? ", " : "") + order[h] + " [" + list + "]";
  }
  return out;
}

std::vector<std::string> LocalCommunicator::hosts() const {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return {name};
}

}  // namespace tal
