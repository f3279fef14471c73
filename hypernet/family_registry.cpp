// The one list of families. Adding a family: its file (family_<name>.cpp, defining a `const Family& <name>_family()`)
// and one line here.
#include "hypernet/family_registry.h"

#include "base/error.h"
#include "base/suggest.h"
#include "hypernet/family.h"

namespace tal {

const Family& vit_family();
const Family& gpt2_family();

const std::vector<const Family*>& families() {
  static const std::vector<const Family*> all = {&vit_family(), &gpt2_family()};
  return all;
}

std::vector<std::string> family_names() {
  std::vector<std::string> out;
  for (const Family* f : families()) out.push_back(f->name());
  return out;
}

const Family& find_family(const std::string& name) {
  for (const Family* f : families())
    if (f->name() == name) return *f;
  throw Error("unknown architecture family '" + name + "' (known: " + join_choices(family_names()) + ")" +
              did_you_mean(name, family_names()));
}

std::vector<std::string> all_zoo_rules() {
  std::vector<std::string> out;
  for (const Family* f : families())
    for (const auto& r : f->zoo_rules()) out.push_back(r);
  return out;
}

const Family& family_of_rules(const std::string& rules) {
  for (const Family* f : families())
    if (is_one_of(rules, f->zoo_rules())) return *f;
  throw Error("zoo: unknown rules '" + rules + "' (expected " + join_choices(all_zoo_rules()) + ")" +
              did_you_mean(rules, all_zoo_rules()));
}

void Family::complete(ArchSpec&, const std::vector<std::string>&) const {}

bool Family::is_predicted(const ArchSpec&, const std::string&) const { return true; }

std::string Family::library_config(const ArchSpec&) const { return ""; }

at::Tensor per_example_cross_entropy(const at::Tensor& logits, const at::Tensor& targets, double smoothing) {
  return at::cross_entropy_loss(logits, targets, {}, at::Reduction::None, -100, smoothing);
}

at::Tensor per_example_distillation(const at::Tensor& student, const at::Tensor& teacher, double temperature) {
  const auto log_p_student = at::log_softmax(student / temperature, -1);
  const auto log_p_teacher = at::log_softmax(teacher / temperature, -1);
  return (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(-1) * (temperature * temperature);
}

}  // namespace tal
