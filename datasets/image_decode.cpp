#include "datasets/image_decode.h"

#include <jpeglib.h>
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "base/error.h"

namespace tal {
namespace {

bool has_suffix(std::string s, const std::string& suffix) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

at::Tensor decode_png(const std::string& path) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  TAL_REQUIRE(png_image_begin_read_from_file(&image, path.c_str()) != 0, path, ": cannot decode PNG (",
              image.message, ")");
  image.format = PNG_FORMAT_RGB;
  auto out = at::empty({static_cast<int64_t>(image.height), static_cast<int64_t>(image.width), 3}, at::kByte);
  const bool ok = png_image_finish_read(&image, nullptr, out.data_ptr<uint8_t>(), 0, nullptr) != 0;
  const bool warned = (image.warning_or_error & PNG_IMAGE_WARNING) != 0;
  const std::string msg = image.message;
  png_image_free(&image);
  TAL_REQUIRE(ok, path, ": cannot decode PNG (", msg, ")");
  TAL_REQUIRE(!warned, path, ": corrupt PNG (", msg, ")");
  return out.permute({2, 0, 1}).contiguous();
}

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  int warnings;
};

void on_jpeg_error(j_common_ptr info) {
  auto* err = reinterpret_cast<JpegError*>(info->err);
  (*info->err->format_message)(info, err->message);
  std::longjmp(err->jump, 1);
}

// libjpeg "warns" about corrupt data (a truncated file, bad Huffman codes) and fills the rest grey; keep the first
// warning instead of printing it, so the caller can refuse the image.
void on_jpeg_message(j_common_ptr info, int level) {
  auto* err = reinterpret_cast<JpegError*>(info->err);
  if (level >= 0) return;  // trace messages
  if (err->warnings++ == 0) (*info->err->format_message)(info, err->message);
}

// libjpeg reports errors by longjmp. Only C frames lie between the longjmp inside libjpeg and the setjmp here;
// this frame has no locals at all, and everything it writes (decoder state, pixels) lives in the caller's
// frame, which the jump does not leave. That keeps the jump well-defined in C++.
bool decode_jpeg_into(FILE* file, jpeg_decompress_struct* info, JpegError* err, std::vector<uint8_t>* pixels) {
  info->err = jpeg_std_error(&err->mgr);
  err->mgr.error_exit = on_jpeg_error;
  err->mgr.emit_message = on_jpeg_message;
  if (setjmp(err->jump)) {
    jpeg_destroy_decompress(info);
    return false;
  }
  jpeg_create_decompress(info);
  jpeg_stdio_src(info, file);
  jpeg_read_header(info, TRUE);
  info->out_color_space = JCS_RGB;
  jpeg_start_decompress(info);
  pixels->resize(static_cast<size_t>(info->output_height) * info->output_width * 3);
  while (info->output_scanline < info->output_height) {
    JSAMPROW row = pixels->data() + static_cast<size_t>(info->output_scanline) * info->output_width * 3;
    jpeg_read_scanlines(info, &row, 1);
  }
  jpeg_finish_decompress(info);
  jpeg_destroy_decompress(info);
  return true;
}

at::Tensor decode_jpeg(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  TAL_REQUIRE(file, path, ": cannot open");
  jpeg_decompress_struct info{};
  JpegError err{};
  std::vector<uint8_t> pixels;
  TAL_REQUIRE(decode_jpeg_into(file.get(), &info, &err, &pixels), path, ": cannot decode JPEG (", err.message, ")");
  TAL_REQUIRE(err.warnings == 0, path, ": corrupt JPEG (", err.message, ")");
  const auto h = static_cast<int64_t>(info.output_height), w = static_cast<int64_t>(info.output_width);
  return at::from_blob(pixels.data(), {h, w, 3}, at::kByte).permute({2, 0, 1}).contiguous();
}

}  // namespace

at::Tensor decode_image(const std::string& path) {
  if (has_suffix(path, ".png")) return decode_png(path);
  if (has_suffix(path, ".jpg") || has_suffix(path, ".jpeg")) return decode_jpeg(path);
  TAL_REQUIRE(false, path, ": not a .png, .jpg or .jpeg file");
  return {};
}

at::Tensor resize_square(const at::Tensor& image, int64_t size) {
  if (image.size(1) == size && image.size(2) == size) return image;
  auto x = image.to(at::kFloat).unsqueeze(0);
  x = at::upsample_bilinear2d(x, {size, size}, /*align_corners=*/false);
  return x.squeeze(0).round().clamp(0, 255).to(at::kByte);
}

}  // namespace tal
