// Image files to uint8 tensors: PNG through libpng, JPEG through libjpeg-turbo, and bilinear resizing.
#pragma once

#include <ATen/ATen.h>

#include <string>

namespace tal {

// Decodes a PNG or JPEG file to uint8 [3, H, W] (RGB). Throws naming the file if it cannot be decoded.
at::Tensor decode_image(const std::string& path);
// Bilinear resize of uint8 [C, H, W] to [C, size, size] (align_corners = false), rounded back to uint8.
at::Tensor resize_square(const at::Tensor& image, int64_t size);

}  // namespace tal
