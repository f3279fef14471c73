#include "dist/communicator.h"

#include <unistd.h>

#include <algorithm>
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

CollectiveSignature collective_signature(const at::Tensor& t) {
  CollectiveSignature s;
  s.v[0] = static_cast<int64_t>(t.scalar_type());
  s.v[1] = static_cast<int64_t>(t.device().type());
  s.v[2] = t.dim();
  s.v[3] = t.numel();
  for (int64_t d = 0; d < std::min<int64_t>(t.dim(), 3); ++d) s.v[4 + d] = t.size(d);
  return s;
}

std::string describe_signature(const CollectiveSignature& s) {
  return std::string(c10::toString(static_cast<at::ScalarType>(s.v[0]))) + " on " +
         c10::DeviceTypeName(static_cast<c10::DeviceType>(s.v[1]), true) + " with " + std::to_string(s.v[3]) +
         " elements";
}

}  // namespace tal
