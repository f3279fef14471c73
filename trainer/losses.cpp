#include "trainer/losses.h"

namespace tal {

at::Tensor per_image_cross_entropy(const at::Tensor& logits, const at::Tensor& labels, double smoothing) {
  return at::cross_entropy_loss(logits, labels, {}, at::Reduction::None, -100, smoothing);
}

at::Tensor per_image_distillation(const at::Tensor& student, const at::Tensor& teacher, double temperature) {
  const auto log_p_student = at::log_softmax(student / temperature, -1);
  const auto log_p_teacher = at::log_softmax(teacher / temperature, -1);
  return (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(-1) * (temperature * temperature);
}

}  // namespace tal
