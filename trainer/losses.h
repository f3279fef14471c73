// Per-image losses, so a rank can sum its share of a unit's images and the ranks' sums add up to the global mean.
#pragma once

#include <ATen/ATen.h>

namespace tal {

// Cross-entropy with label smoothing, one value per image.
at::Tensor per_image_cross_entropy(const at::Tensor& logits, const at::Tensor& labels, double smoothing);
// T^2 KL(softmax(teacher / T) || softmax(student / T)), one value per image (Hinton's distillation term).
at::Tensor per_image_distillation(const at::Tensor& student, const at::Tensor& teacher, double temperature);

}  // namespace tal
