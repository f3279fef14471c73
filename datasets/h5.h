// A thin RAII layer over the HDF5 C library: tensors, string arrays and attributes by path. Every failure throws
// tal::Error naming the file and the object, so bad files give one clear line.
#pragma once

#include <ATen/ATen.h>
#include <hdf5.h>

#include <string>
#include <vector>

namespace tal {

// The HDF5 library linked at run time, "1.10.8".
std::string hdf5_version();

class H5File {
 public:
  enum class Mode { Read, Truncate, ReadWrite };
  H5File(const std::string& path, Mode mode);
  ~H5File();
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;
  H5File(H5File&& o) noexcept;

  const std::string& path() const { return path_; }
  bool exists(const std::string& object) const;
  bool is_dataset(const std::string& object) const;
  std::vector<std::string> children(const std::string& group) const;
  std::vector<int64_t> shape(const std::string& dataset) const;

  // float32/64, int8/32/64 and uint8 datasets become tensors of the matching dtype.
  at::Tensor read(const std::string& dataset) const;
  std::vector<std::string> read_strings(const std::string& dataset) const;
  // Rows [start, start + count) along the first dimension (a hyperslab: only those chunks are read).
  at::Tensor read_rows(const std::string& dataset, int64_t start, int64_t count) const;

  // Creates intermediate groups; replaces nothing (writing an existing name is an error).
  void write(const std::string& dataset, const at::Tensor& tensor, bool compress = true);
  void write_strings(const std::string& dataset, const std::vector<std::string>& values);
  void create_group(const std::string& group);

  std::vector<std::string> attr_names(const std::string& object) const;
  std::string attr_text(const std::string& object, const std::string& name) const;  // any attribute, printable
  std::string dtype_name(const std::string& dataset) const;  // "float32", "uint8", "string", ...
  // Throws naming the file and dataset unless it exists with one of `dtypes` and rank `rank` (-1: any):
  // "x.h5: '/train/images' is float32 of rank 4, expected uint8".
  void require(const std::string& dataset, const std::vector<std::string>& dtypes, int rank = -1) const;
  void remove(const std::string& object);                    // unlinks a group or dataset
  void remove_attr(const std::string& object, const std::string& name);  // if present
  bool has_attr(const std::string& object, const std::string& name) const;
  int64_t attr_int(const std::string& object, const std::string& name) const;
  std::vector<int64_t> attr_ints(const std::string& object, const std::string& name) const;
  double attr_float(const std::string& object, const std::string& name) const;
  std::string attr_str(const std::string& object, const std::string& name) const;
  std::vector<std::string> attr_strings(const std::string& object, const std::string& name) const;
  void set_attr(const std::string& object, const std::string& name, int64_t value);
  void set_attr(const std::string& object, const std::string& name, double value);
  void set_attr(const std::string& object, const std::string& name, const std::string& value);
  void set_attr(const std::string& object, const std::string& name, const char* value) {
    set_attr(object, name, std::string(value));
  }

 private:
  [[noreturn]] void fail(const std::string& object, const std::string& what) const;
  // Refuses (naming the file and object) a declared shape of `element`-byte elements that cannot be real, before
  // anything is allocated for it: more than the file's size where the bytes are stored whole in it, else more than
  // both 1100 times the file (deflate's bound) and this machine's memory.
  void require_fits(const std::string& object, const std::vector<int64_t>& dims, size_t element, bool stored_whole) const;
  hid_t open_object(const std::string& object) const;
  void ensure_parent_groups(const std::string& object);

  std::string path_;
  hid_t file_ = -1;
};

}  // namespace tal
