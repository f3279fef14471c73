// The HDF5 layer behind datasets/h5.h. One file over 400 lines because every call shares the same handle,
// type and string helpers; splitting it would only spread them.
#include "datasets/h5.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>

#include "base/error.h"

namespace tal {

std::string hdf5_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

namespace {

// Closes any HDF5 handle when it leaves scope.
struct Handle {
  hid_t id;
  herr_t (*close)(hid_t);
  ~Handle() {
    if (id >= 0) close(id);
  }
};

struct SilenceHdf5Errors {
  SilenceHdf5Errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};
const SilenceHdf5Errors silence;

hid_t native_type(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return H5T_NATIVE_FLOAT;
    case at::kDouble: return H5T_NATIVE_DOUBLE;
    case at::kLong: return H5T_NATIVE_INT64;
    case at::kInt: return H5T_NATIVE_INT32;
    case at::kByte: return H5T_NATIVE_UINT8;
    case at::kChar: return H5T_NATIVE_INT8;
    case at::kBool: return H5T_NATIVE_UINT8;
    default: return -1;
  }
}

hid_t vlen_string_type() {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

// Reads a string-typed dataset or attribute (fixed or variable length) through `read`.
template <class ReadFn>
std::vector<std::string> read_string_array(hid_t file_type, size_t count, ReadFn read) {
  std::vector<std::string> out(count);
  if (H5Tis_variable_str(file_type) > 0) {
    std::vector<char*> buf(count, nullptr);
    Handle mem{vlen_string_type(), H5Tclose};
    if (read(mem.id, buf.data()) < 0) return {};
    for (size_t i = 0; i < count; ++i) out[i] = buf[i] ? buf[i] : "";
    for (char* p : buf) H5free_memory(p);
  } else {
    const size_t len = H5Tget_size(file_type);
    std::vector<char> buf(count * len + 1, '\0');
    Handle mem{H5Tcopy(H5T_C_S1), H5Tclose};
    H5Tset_size(mem.id, len);
    if (read(mem.id, buf.data()) < 0) return {};
    for (size_t i = 0; i < count; ++i) out[i] = std::string(buf.data() + i * len, strnlen(buf.data() + i * len, len));
  }
  return out;
}

}  // namespace

H5File::H5File(const std::string& path, Mode mode) : path_(path) {
  if (mode == Mode::Truncate) {
    file_ = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    TAL_REQUIRE(file_ >= 0, path, ": cannot create HDF5 file");
    return;
  }
  TAL_REQUIRE(std::filesystem::exists(path), path, ": no such file");
  TAL_REQUIRE(H5Fis_hdf5(path.c_str()) > 0, path, ": not an HDF5 file (or truncated)");
  file_ = H5Fopen(path.c_str(), mode == Mode::Read ? H5F_ACC_RDONLY : H5F_ACC_RDWR, H5P_DEFAULT);
  TAL_REQUIRE(file_ >= 0, path, ": cannot open HDF5 file (corrupt, or locked by another process)");
}

H5File::~H5File() {
  if (file_ >= 0) H5Fclose(file_);
}

H5File::H5File(H5File&& o) noexcept : path_(std::move(o.path_)), file_(o.file_) { o.file_ = -1; }

void H5File::fail(const std::string& object, const std::string& what) const {
  throw Error(path_ + ": '" + object + "': " + what);
}

bool H5File::exists(const std::string& object) const {
  if (object == "/" || object.empty()) return true;
  // Check each prefix: H5Lexists fails on a missing intermediate group.
  size_t pos = 0;
  while (true) {
    pos = object.find('/', pos + 1);
    const std::string prefix = object.substr(0, pos);
    if (!prefix.empty() && prefix != "/" && H5Lexists(file_, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (pos == std::string::npos) return true;
  }
}

hid_t H5File::open_object(const std::string& object) const {
  if (!exists(object)) fail(object, "not found");
  hid_t id = H5Oopen(file_, object.c_str(), H5P_DEFAULT);
  if (id < 0) fail(object, "cannot open");
  return id;
}

bool H5File::is_dataset(const std::string& object) const {
  if (!exists(object)) return false;
  H5O_info_t info;
  if (H5Oget_info_by_name(file_, object.c_str(), &info, H5P_DEFAULT) < 0) return false;
  return info.type == H5O_TYPE_DATASET;
}

std::vector<std::string> H5File::children(const std::string& group) const {
  Handle g{open_object(group), H5Oclose};
  H5G_info_t info;
  if (H5Gget_info(g.id, &info) < 0) fail(group, "not a group");
  std::error_code ec;
  const auto file_bytes = std::filesystem::file_size(path_, ec);
  if (!ec && info.nlinks > file_bytes) fail(group, "declares " + std::to_string(info.nlinks) + " members in a file of " +
                                                      std::to_string(file_bytes) + " bytes");
  std::vector<std::string> out;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t n = H5Lget_name_by_idx(g.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (n < 0 || static_cast<uint64_t>(n) > file_bytes) fail(group, "member " + std::to_string(i) + " has no readable name");
    std::string name(static_cast<size_t>(n), '\0');
    H5Lget_name_by_idx(g.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), n + 1, H5P_DEFAULT);
    out.push_back(name);
  }
  return out;
}

void H5File::require_fits(const std::string& object, const std::vector<int64_t>& dims, size_t element,
                          bool stored_whole) const {
  // The declared bytes, saturating (a forged shape may multiply past 2^64).
  constexpr uint64_t kHuge = uint64_t{1} << 62;
  uint64_t elements = 1;
  for (const int64_t d : dims) {
    if (d < 0) fail(object, "declares a negative dimension");
    elements = d == 0 ? 0 : (elements > kHuge / static_cast<uint64_t>(d) ? kHuge : elements * static_cast<uint64_t>(d));
  }
  const uint64_t bytes = elements > kHuge / std::max<size_t>(element, 1) ? kHuge : elements * std::max<size_t>(element, 1);
  std::error_code ec;
  const uint64_t file = std::filesystem::file_size(path_, ec);
  if (ec) return;
  if (stored_whole && bytes > file)
    fail(object, "declares " + std::to_string(elements) + " elements (" + std::to_string(bytes) + " bytes), more than a " +
                     std::to_string(file) + "-byte file can hold (truncated or forged): nothing is allocated for it");
  // Data that is compressed, not yet (or not wholly) written, or kept outside the file may stand for more bytes than
  // the file takes (deflate: at most about 1032 to 1); it is still read into memory whole.
  const uint64_t compressed = file > kHuge / 1100 ? kHuge : file * 1100;
  const auto pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  const uint64_t memory = pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : kHuge;
  if (!stored_whole && bytes > std::max(compressed, memory))
    fail(object, "declares " + std::to_string(elements) + " elements (" + std::to_string(bytes) + " bytes), more than a " +
                     std::to_string(file) + "-byte file can hold compressed and more than this machine's " +
                     std::to_string(memory) + " bytes of memory (truncated or forged): nothing is allocated for it");
}

namespace {
// Whether a dataset's bytes are all in its file as they are: no filter (compression), written whole, not external
// or virtual. Only then must its declared size fit the file's.
bool stored_whole(hid_t dataset) {
  const hid_t plist = H5Dget_create_plist(dataset);
  if (plist < 0) return false;
  const int n = H5Pget_nfilters(plist);
  const H5D_layout_t layout = H5Pget_layout(plist);
  const int external = H5Pget_external_count(plist);
  H5Pclose(plist);
  H5D_space_status_t status = H5D_SPACE_STATUS_ERROR;
  const bool allocated = H5Dget_space_status(dataset, &status) >= 0 && status == H5D_SPACE_STATUS_ALLOCATED;
  const bool plain = layout == H5D_CONTIGUOUS || layout == H5D_CHUNKED || layout == H5D_COMPACT;
  return n == 0 && plain && external == 0 && allocated;
}
}  // namespace

std::vector<int64_t> H5File::shape(const std::string& dataset) const {
  if (!is_dataset(dataset)) fail(dataset, exists(dataset) ? "not a dataset" : "not found");
  Handle d{H5Dopen2(file_, dataset.c_str(), H5P_DEFAULT), H5Dclose};
  Handle space{H5Dget_space(d.id), H5Sclose};
  const int rank = H5Sget_simple_extent_ndims(space.id);
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space.id, dims.data(), nullptr);
  return std::vector<int64_t>(dims.begin(), dims.end());
}

namespace {
hid_t open_attr(hid_t file, const std::string& object, const std::string& name) {
  return H5Aopen_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
}
at::ScalarType scalar_type_of(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const size_t size = H5Tget_size(type);
  if (cls == H5T_FLOAT) return size == 8 ? at::kDouble : at::kFloat;
  if (cls == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    return size == 1 ? (is_signed ? at::kChar : at::kByte) : size <= 4 ? at::kInt : at::kLong;
  }
  return at::ScalarType::Undefined;
}
}  // namespace

at::Tensor H5File::read_rows(const std::string& dataset, int64_t start, int64_t count) const {
  auto dims = shape(dataset);
  if (dims.empty() || start < 0 || count < 0 || start + count > dims[0])
    fail(dataset, "rows [" + std::to_string(start) + ", " + std::to_string(start + count) + ") out of range");
  Handle d{H5Dopen2(file_, dataset.c_str(), H5P_DEFAULT), H5Dclose};
  Handle type{H5Dget_type(d.id), H5Tclose};
  const auto st = scalar_type_of(type.id);
  if (st == at::ScalarType::Undefined) fail(dataset, "holds neither numbers nor integers");
  require_fits(dataset, shape(dataset), H5Tget_size(type.id), stored_whole(d.id));
  dims[0] = count;
  auto t = at::empty(dims, at::TensorOptions().dtype(st));
  if (count == 0) return t;
  Handle file_space{H5Dget_space(d.id), H5Sclose};
  std::vector<hsize_t> offset(dims.size(), 0), extent(dims.begin(), dims.end());
  offset[0] = static_cast<hsize_t>(start);
  H5Sselect_hyperslab(file_space.id, H5S_SELECT_SET, offset.data(), nullptr, extent.data(), nullptr);
  Handle mem_space{H5Screate_simple(static_cast<int>(extent.size()), extent.data(), nullptr), H5Sclose};
  if (H5Dread(d.id, native_type(st), mem_space.id, file_space.id, H5P_DEFAULT, t.data_ptr()) < 0)
    fail(dataset, "read failed (file truncated or corrupt?)");
  return t;
}

at::Tensor H5File::read(const std::string& dataset) const {
  const auto dims = shape(dataset);
  Handle d{H5Dopen2(file_, dataset.c_str(), H5P_DEFAULT), H5Dclose};
  Handle type{H5Dget_type(d.id), H5Tclose};
  const H5T_class_t cls = H5Tget_class(type.id);
  const size_t size = H5Tget_size(type.id);
  at::ScalarType st;
  if (cls == H5T_FLOAT) {
    st = size == 8 ? at::kDouble : at::kFloat;
  } else if (cls == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type.id) == H5T_SGN_2;
    st = size == 1 ? (is_signed ? at::kChar : at::kByte) : size <= 4 ? at::kInt : at::kLong;
  } else {
    fail(dataset, "holds neither numbers nor integers");
  }
  require_fits(dataset, dims, size, stored_whole(d.id));
  auto t = at::empty(dims, at::TensorOptions().dtype(st));
  if (t.numel() > 0 && H5Dread(d.id, native_type(st), H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()) < 0)
    fail(dataset, "read failed (file truncated or corrupt?)");
  return t;
}

std::vector<std::string> H5File::read_strings(const std::string& dataset) const {
  const auto dims = shape(dataset);
  size_t count = 1;
  for (auto v : dims) count *= static_cast<size_t>(v);
  Handle d{H5Dopen2(file_, dataset.c_str(), H5P_DEFAULT), H5Dclose};
  Handle type{H5Dget_type(d.id), H5Tclose};
  if (H5Tget_class(type.id) != H5T_STRING) fail(dataset, "is not a string dataset");
  require_fits(dataset, dims, H5Tget_size(type.id), stored_whole(d.id));
  auto out = read_string_array(type.id, count, [&](hid_t mem, void* buf) {
    return H5Dread(d.id, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  });
  if (out.size() != count) fail(dataset, "read failed");
  return out;
}

void H5File::ensure_parent_groups(const std::string& object) {
  size_t pos = 0;
  while ((pos = object.find('/', pos + 1)) != std::string::npos) {
    const std::string prefix = object.substr(0, pos);
    if (!prefix.empty() && !exists(prefix)) {
      Handle g{H5Gcreate2(file_, prefix.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose};
      if (g.id < 0) fail(prefix, "cannot create group");
    }
  }
}

void H5File::create_group(const std::string& group) {
  ensure_parent_groups(group);
  if (exists(group)) return;
  Handle g{H5Gcreate2(file_, group.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose};
  if (g.id < 0) fail(group, "cannot create group");
}

void H5File::write(const std::string& dataset, const at::Tensor& tensor, bool compress) {
  const auto t = tensor.detach().to(at::kCPU).contiguous();
  const hid_t mem_type = native_type(t.scalar_type());
  if (mem_type < 0) fail(dataset, "unsupported dtype");
  if (exists(dataset)) fail(dataset, "already exists");
  ensure_parent_groups(dataset);
  std::vector<hsize_t> dims(t.sizes().begin(), t.sizes().end());
  Handle space{H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose};
  Handle plist{H5Pcreate(H5P_DATASET_CREATE), H5Pclose};
  // Chunk + shuffle + gzip only where it pays: small tensors stay contiguous.
  if (compress && t.numel() * t.element_size() > 16384 && !dims.empty()) {
    std::vector<hsize_t> chunk = dims;
    size_t bytes = static_cast<size_t>(t.element_size());
    for (auto c : chunk) bytes *= c;
    for (size_t i = 0; i < chunk.size() && bytes > (1u << 20); ++i) {
      while (chunk[i] > 1 && bytes > (1u << 20)) {
        bytes = bytes / chunk[i] * ((chunk[i] + 1) / 2);
        chunk[i] = (chunk[i] + 1) / 2;
      }
    }
    H5Pset_chunk(plist.id, static_cast<int>(chunk.size()), chunk.data());
    H5Pset_shuffle(plist.id);
    H5Pset_deflate(plist.id, 4);
  }
  Handle d{H5Dcreate2(file_, dataset.c_str(), mem_type, space.id, H5P_DEFAULT, plist.id, H5P_DEFAULT), H5Dclose};
  if (d.id < 0) fail(dataset, "cannot create dataset");
  if (t.numel() > 0 && H5Dwrite(d.id, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()) < 0)
    fail(dataset, "write failed (disk full?)");
}

void H5File::write_strings(const std::string& dataset, const std::vector<std::string>& values) {
  if (exists(dataset)) fail(dataset, "already exists");
  ensure_parent_groups(dataset);
  const hsize_t n = values.size();
  Handle type{vlen_string_type(), H5Tclose};
  Handle space{H5Screate_simple(1, &n, nullptr), H5Sclose};
  Handle d{H5Dcreate2(file_, dataset.c_str(), type.id, space.id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose};
  if (d.id < 0) fail(dataset, "cannot create dataset");
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (n > 0 && H5Dwrite(d.id, type.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0) fail(dataset, "write failed");
}

std::vector<std::string> H5File::attr_names(const std::string& object) const {
  Handle o{open_object(object), H5Oclose};
  H5O_info_t info;
  if (H5Oget_info(o.id, &info) < 0) fail(object, "unreadable object header");
  std::error_code ec;
  const auto file_bytes = std::filesystem::file_size(path_, ec);
  if (!ec && info.num_attrs > file_bytes) fail(object, "declares " + std::to_string(info.num_attrs) + " attributes");
  std::vector<std::string> out;
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    const ssize_t n = H5Aget_name_by_idx(o.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (n < 0 || static_cast<uint64_t>(n) > file_bytes) fail(object, "attribute " + std::to_string(i) + " has no readable name");
    std::string name(static_cast<size_t>(n), '\0');
    H5Aget_name_by_idx(o.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), static_cast<size_t>(n) + 1, H5P_DEFAULT);
    out.push_back(name);
  }
  return out;
}

std::string H5File::attr_text(const std::string& object, const std::string& name) const {
  H5T_class_t cls;
  {
    Handle a{open_attr(file_, object, name), H5Aclose};
    Handle type{H5Aget_type(a.id), H5Tclose};
    cls = H5Tget_class(type.id);
  }
  std::string out;
  if (cls == H5T_INTEGER) {
    for (auto v : attr_ints(object, name)) out += (out.empty() ? "" : ", ") + std::to_string(v);
  } else if (cls == H5T_FLOAT) {
    out = std::to_string(attr_float(object, name));
  } else if (cls == H5T_STRING) {
    for (const auto& v : attr_strings(object, name)) out += (out.empty() ? "" : ", ") + v;
  } else {
    out = "(unprintable)";
  }
  return out;
}

std::string H5File::dtype_name(const std::string& dataset) const {
  Handle d{H5Dopen2(file_, dataset.c_str(), H5P_DEFAULT), H5Dclose};
  if (d.id < 0) fail(dataset, "not a dataset");
  Handle type{H5Dget_type(d.id), H5Tclose};
  if (H5Tget_class(type.id) == H5T_STRING) return "string";
  const auto st = scalar_type_of(type.id);
  switch (st) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kByte: return "uint8";
    case at::kChar: return "int8";
    default: return "other";
  }
}

void H5File::require(const std::string& dataset, const std::vector<std::string>& dtypes, int rank) const {
  if (!is_dataset(dataset)) fail(dataset, exists(dataset) ? "is not a dataset" : "missing");
  const std::string dtype = dtype_name(dataset);
  const auto dims = shape(dataset);
  const bool dtype_ok = std::find(dtypes.begin(), dtypes.end(), dtype) != dtypes.end();
  if (dtype_ok && (rank < 0 || static_cast<int>(dims.size()) == rank)) return;
  std::string want;
  for (size_t i = 0; i < dtypes.size(); ++i) want += (i ? i + 1 == dtypes.size() ? " or " : ", " : "") + dtypes[i];
  if (rank >= 0) want += " of rank " + std::to_string(rank);
  fail(dataset, "is " + dtype + " of rank " + std::to_string(dims.size()) + ", expected " + want);
}

void H5File::remove(const std::string& object) {
  if (!exists(object)) return;
  if (H5Ldelete(file_, object.c_str(), H5P_DEFAULT) < 0) fail(object, "cannot remove");
}

bool H5File::has_attr(const std::string& object, const std::string& name) const {
  if (!exists(object)) return false;
  return H5Aexists_by_name(file_, object.c_str(), name.c_str(), H5P_DEFAULT) > 0;
}

int64_t H5File::attr_int(const std::string& object, const std::string& name) const {
  if (!has_attr(object, name)) fail(object, "missing attribute '" + name + "'");
  Handle a{open_attr(file_, object, name), H5Aclose};
  Handle type{H5Aget_type(a.id), H5Tclose};
  if (H5Tget_class(type.id) != H5T_INTEGER) fail(object, "attribute '" + name + "' is not an integer");
  int64_t v = 0;
  if (H5Aread(a.id, H5T_NATIVE_INT64, &v) < 0) fail(object, "cannot read attribute '" + name + "'");
  return v;
}

std::vector<int64_t> H5File::attr_ints(const std::string& object, const std::string& name) const {
  if (!has_attr(object, name)) fail(object, "missing attribute '" + name + "'");
  Handle a{open_attr(file_, object, name), H5Aclose};
  Handle type{H5Aget_type(a.id), H5Tclose};
  if (H5Tget_class(type.id) != H5T_INTEGER) fail(object, "attribute '" + name + "' is not integers");
  Handle space{H5Aget_space(a.id), H5Sclose};
  const auto points = H5Sget_simple_extent_npoints(space.id);
  require_fits(object + "' attribute '" + name, {points}, H5Tget_size(type.id), true);
  std::vector<int64_t> v(static_cast<size_t>(points));
  if (H5Aread(a.id, H5T_NATIVE_INT64, v.data()) < 0) fail(object, "cannot read attribute '" + name + "'");
  return v;
}

double H5File::attr_float(const std::string& object, const std::string& name) const {
  if (!has_attr(object, name)) fail(object, "missing attribute '" + name + "'");
  Handle a{open_attr(file_, object, name), H5Aclose};
  Handle type{H5Aget_type(a.id), H5Tclose};
  const auto cls = H5Tget_class(type.id);
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) fail(object, "attribute '" + name + "' is not a number");
  double v = 0;
  if (H5Aread(a.id, H5T_NATIVE_DOUBLE, &v) < 0) fail(object, "cannot read attribute '" + name + "'");
  return v;
}

std::vector<std::string> H5File::attr_strings(const std::string& object, const std::string& name) const {
  if (!has_attr(object, name)) fail(object, "missing attribute '" + name + "'");
  Handle a{open_attr(file_, object, name), H5Aclose};
  Handle type{H5Aget_type(a.id), H5Tclose};
  if (H5Tget_class(type.id) != H5T_STRING) fail(object, "attribute '" + name + "' is not text");
  Handle space{H5Aget_space(a.id), H5Sclose};
  const auto points = H5Sget_simple_extent_npoints(space.id);
  require_fits(object + "' attribute '" + name, {points}, H5Tget_size(type.id), true);
  const auto count = static_cast<size_t>(points);
  auto out = read_string_array(type.id, count, [&](hid_t mem, void* buf) { return H5Aread(a.id, mem, buf); });
  if (out.size() != count) fail(object, "cannot read attribute '" + name + "'");
  return out;
}

std::string H5File::attr_str(const std::string& object, const std::string& name) const {
  auto v = attr_strings(object, name);
  if (v.size() != 1) fail(object, "attribute '" + name + "' is not a single string");
  return v[0];
}

namespace {
void replace_attr(hid_t file, const std::string& object, const std::string& name) {
  if (H5Aexists_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT) > 0)
    H5Adelete_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT);
}
}  // namespace

void H5File::remove_attr(const std::string& object, const std::string& name) { replace_attr(file_, object, name); }

void H5File::set_attr(const std::string& object, const std::string& name, int64_t value) {
  if (!exists(object)) create_group(object);
  replace_attr(file_, object, name);
  Handle space{H5Screate(H5S_SCALAR), H5Sclose};
  Handle a{H5Acreate_by_name(file_, object.c_str(), name.c_str(), H5T_STD_I64LE, space.id, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT),
           H5Aclose};
  if (a.id < 0 || H5Awrite(a.id, H5T_NATIVE_INT64, &value) < 0) fail(object, "cannot write attribute '" + name + "'");
}

void H5File::set_attr(const std::string& object, const std::string& name, double value) {
  if (!exists(object)) create_group(object);
  replace_attr(file_, object, name);
  Handle space{H5Screate(H5S_SCALAR), H5Sclose};
  Handle a{H5Acreate_by_name(file_, object.c_str(), name.c_str(), H5T_IEEE_F64LE, space.id, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT),
           H5Aclose};
  if (a.id < 0 || H5Awrite(a.id, H5T_NATIVE_DOUBLE, &value) < 0) fail(object, "cannot write attribute '" + name + "'");
}

void H5File::set_attr(const std::string& object, const std::string& name, const std::string& value) {
  if (!exists(object)) create_group(object);
  replace_attr(file_, object, name);
  Handle type{vlen_string_type(), H5Tclose};
  Handle space{H5Screate(H5S_SCALAR), H5Sclose};
  Handle a{H5Acreate_by_name(file_, object.c_str(), name.c_str(), type.id, space.id, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT),
           H5Aclose};
  const char* p = value.c_str();
  if (a.id < 0 || H5Awrite(a.id, type.id, &p) < 0) fail(object, "cannot write attribute '" + name + "'");
}

}  // namespace tal
