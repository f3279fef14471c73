// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the raw little-endian data. No pickle: any language reads it with a JSON
// parser. What `tal export` writes and what PyTorch users now load weights from.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tal {

// Writes the tensors (in the given order; names unique) and string metadata atomically. float32, float64,
// bfloat16, float16, int64, int32, int8 and uint8 tensors are written as they are.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata);
// The same file's bytes (to send to another rank), and writing bytes atomically.
std::string safetensors_bytes(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata);
void write_bytes_atomically(const std::string& path, const std::string& bytes);

struct SafetensorsFile {
  std::map<std::string, at::Tensor> tensors;
  std::map<std::string, std::string> metadata;
};
// Reads one back, checking the header and every byte range; problems name the file and the tensor.
SafetensorsFile read_safetensors(const std::string& path);
// The same from a file's bytes (sent by another rank); `path` names them in errors.
SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& path);

}  // namespace tal
