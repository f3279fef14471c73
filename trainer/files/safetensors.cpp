#include "trainer/files/safetensors.h"

#include <algorithm>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/error.h"
#include "datasets/atomic_file.h"

namespace tal {
namespace {

const std::vector<std::pair<at::ScalarType, std::string>>& dtypes() {
  static const std::vector<std::pair<at::ScalarType, std::string>> d = {
      {at::kFloat, "F32"}, {at::kDouble, "F64"}, {at::kBFloat16, "BF16"}, {at::kHalf, "F16"},
      {at::kLong, "I64"},  {at::kInt, "I32"},    {at::kChar, "I8"},       {at::kByte, "U8"}};
  return d;
}

}  // namespace

std::string safetensors_bytes(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> data;
  std::set<std::string> names;
  int64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    TAL_ASSERT(names.insert(name).second, "tensor '", name, "' written twice");
    std::string dtype;
    for (const auto& [type, label] : dtypes())
      if (type == t.scalar_type()) dtype = label;
    TAL_ASSERT(!dtype.empty(), "tensor '", name, "' has a dtype safetensors is not written with here");
    auto c = t.detach().to(at::kCPU).contiguous();
    const auto bytes = static_cast<int64_t>(c.nbytes());
    header[name] = {{"dtype", dtype}, {"shape", c.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(c);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  std::string out;
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(static_cast<unsigned char>(n >> (8 * i))));  // LE
  out += text;
  for (const auto& c : data) out.append(static_cast<const char*>(c.data_ptr()), c.nbytes());
  return out;
}

void write_bytes_atomically(const std::string& path, const std::string& bytes) {
  write_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    TAL_REQUIRE(out, tmp, ": cannot be written");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    TAL_REQUIRE(out, tmp, ": write failed (disk full?)");
  });
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_bytes_atomically(path, safetensors_bytes(tensors, metadata));
}

SafetensorsFile read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TAL_REQUIRE(in, path, ": cannot be read");
  std::ostringstream all;
  all << in.rdbuf();
  return parse_safetensors(all.str(), path);
}

SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& path) {
  TAL_REQUIRE(bytes.size() >= 8, path, ": too short for a safetensors file");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  TAL_REQUIRE(n <= bytes.size() - 8, path, ": header length ", n, " runs past the end of the file");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, n));
  } catch (const std::exception& e) {
    throw Error(path + ": the header is not JSON (" + std::string(e.what()) + ")");
  }
  TAL_REQUIRE(header.is_object(), path, ": the header is not a JSON object");
  const size_t base = 8 + n, data_size = bytes.size() - base;
  SafetensorsFile f;
  try {
    for (auto it = header.begin(); it != header.end(); ++it) {
      if (it.key() == "__metadata__") {
        for (auto m = it.value().begin(); m != it.value().end(); ++m) f.metadata[m.key()] = m.value().get<std::string>();
        continue;
      }
      const auto& e = it.value();
      at::ScalarType type = at::kFloat;
      bool known = false;
      size_t element = 0;
      for (const auto& [t, label] : dtypes())
        if (e.at("dtype").get<std::string>() == label) type = t, known = true, element = at::elementSize(t);
      TAL_REQUIRE(known, path, ": tensor '", it.key(), "' has dtype ", e.at("dtype").dump(), ", not one read here");
      // Integers only: a float (4.6e41) converted to an integer is undefined behaviour, not a refusal.
      auto integers = [&](const char* key) {
        const auto& v = e.at(key);
        TAL_REQUIRE(v.is_array() && std::all_of(v.begin(), v.end(), [](const auto& x) { return x.is_number_unsigned(); }),
                    path, ": tensor '", it.key(), "': '", key, "' is not a list of non-negative integers");
      };
      integers("shape");
      integers("data_offsets");
      const auto shape = e.at("shape").get<std::vector<int64_t>>();
      const auto range = e.at("data_offsets").get<std::vector<uint64_t>>();
      // The declared shape is checked against its byte range, and the range against the file, before anything is
      // allocated for it. Every dimension is bounded, a zero among them too ([0, 2^62, 2^62] is no tensor).
      uint64_t bytes_declared = element, bound = element;
      bool fits = shape.size() <= 64;
      for (const int64_t d : shape) {
        const uint64_t at_least_one = std::max<int64_t>(d, 1);
        fits = fits && d >= 0 && bound <= std::max<uint64_t>(data_size, 1) / at_least_one;
        if (!fits) break;
        bound *= at_least_one;
        bytes_declared *= static_cast<uint64_t>(d);
      }
      TAL_REQUIRE(fits && range.size() == 2 && range[0] <= range[1] && range[1] <= data_size &&
                      range[1] - range[0] == bytes_declared,
                  path, ": tensor '", it.key(), "' has a byte range that does not fit its shape or the file");
      auto t = at::empty(shape, at::TensorOptions().dtype(type));
      if (bytes_declared > 0) std::memcpy(t.data_ptr(), bytes.data() + base + range[0], bytes_declared);
      f.tensors.emplace(it.key(), t);
    }
  } catch (const nlohmann::json::exception& e) {  // a key missing, or a value of another JSON type
    throw Error(path + ": the header is not a safetensors header (" + std::string(e.what()) + ")");
  }
  return f;
}

}  // namespace tal
