#include "trainer/finetune/source_modules.h"

#include <cstring>

#include "trainer/files/finetune_statistics.h"

namespace tal {

std::string source_run(const std::vector<FinetuneCell>& results, const std::string& task, const std::string& arch,
                       const std::string& init, int64_t seed, const std::vector<std::string>& heads,
                       const std::string& method) {
  const auto chosen = choose_learning_rates(results);
  for (const std::string& h : heads)
    for (const auto& c : results)
      if (c.task == task && c.arch == arch && c.init == init && c.seed == seed && c.head == h &&
          c.method == method && c.port.empty() && chosen.at({c.task, c.init, c.head, c.variant()}) == c.lr)
        return c.key;
  return "";
}

std::string broadcast_bytes(Communicator& comm, const std::string& bytes, const char* what) {
  auto size = at::full({1}, static_cast<int64_t>(bytes.size()), at::kLong);
  comm.broadcast(size, 0, what);
  // One float per byte (exact), as every collective here carries floats.
  auto data = at::empty({size[0].item<int64_t>()}, at::kByte);
  if (comm.rank() == 0 && !bytes.empty()) std::memcpy(data.data_ptr(), bytes.data(), bytes.size());
  auto floats = data.to(at::kFloat);
  comm.broadcast(floats, 0, what);
  const auto back = floats.to(at::kByte).contiguous();
  return std::string(static_cast<const char*>(back.data_ptr()), static_cast<size_t>(back.numel()));
}

}  // namespace tal
