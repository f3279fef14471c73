// How a descendant is adapted to its task: one interface per fine-tuning method, one registry (registry.cpp, which
// lists them: full, every parameter, bit for bit what tal finetune did before methods; head, a linear probe; ln;
// lora; adapter; two-stage; ...; each file's head comment says what it trains).
// A method is named with its budget like an architecture, "lora:r=4", and the keys it does not name take their
// defaults ("lora:r=4,alpha=auto,targets=qv"). Everything but what a method trains is frozen, and the head (the task's
// own classes) is always trained. The specification, with the references' choices and the rules reconstructed where
// the papers are silent, is in the README's "Transfer methods" section.
//
// Adding a method is one file (a Method and its Adaptation) plus its declaration and entry in registry.cpp.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "datasets/tasks.h"
#include "hypernet/arch_spec.h"
#include "hypernet/block_hooks.h"
#include "hypernet/targets.h"

namespace tal {

// A method and its budget, every key the method declares present, in the method's order.
struct MethodSpec {
  std::string name;
  std::vector<std::pair<std::string, std::string>> keys;
  // "full", "lora:r=4,alpha=4,targets=qv": parse_method(str()) == *this.
  std::string str() const;
  const std::string& at(const std::string& key) const;
  // The key as a whole number >= 1 (or the value `automatic` stands for when it is "auto"); throws naming it.
  int64_t positive(const std::string& key, int64_t automatic = 0) const;
  double number(const std::string& key) const;
};

// What a method may read between its stages (two-stage's importance): the frozen host and the task's training
// examples (its validation slice left out).
struct StageContext {
  const ArchSpec& spec;
  const ParamMap& params;
  const Task& task;
  const std::vector<int64_t>& train;
};

// What a multi-task method reads besides its host: the modules runs of another method trained on the same host, one
// set per source task (ScaLearn's adapters, the target's own among them), in the suite's order.
struct SourceModules {
  std::vector<std::string> tasks;
  std::vector<std::vector<std::pair<std::string, at::Tensor>>> modules;
};

// A method attached to one host: the hooks its modules add to the forward, and what is trained and stored.
class Adaptation : public BlockHooks {
 public:
  // The tensors the optimiser updates in the current stage, in a fixed order: by default the modules' floating
  // tensors, then the host tensors train_host gave.
  virtual std::vector<at::Tensor> trainable() const;
  // The method's own tensors, named as a user loads them beside the host (PEFT-style names); none for methods
  // that only train tensors of the host.
  virtual std::vector<std::pair<std::string, at::Tensor>> modules() const { return {}; }
  // The forward's hooks, or null where the method adds no module (the family's own forward, bit for bit).
  virtual const BlockHooks* hooks() const { return this; }
  // Parameters the optimiser updates over the whole run, and those stored per task to rebuild the task's model
  // from the shared host (modules, trained host tensors, indices, head).
  virtual int64_t trainable_count() const;
  virtual int64_t stored_count() const { return trainable_count(); }
  // Parameters stored once for the whole suite besides the host (a multi-task method's sources).
  virtual int64_t suite_stored_count() const { return 0; }
  // Whether the modules fold into the host's own tensors (merged weights load into torchvision / HF unchanged),
  // and the folding.
  virtual bool mergeable() const { return true; }
  virtual void merge_into(ParamMap& params) const { (void)params; }
  // Stages and how many of `steps` each takes (one stage of them all unless the method has more); before stage
  // s > 0 begins, begin_stage(s) (after which trainable() gives that stage's tensors).
  virtual std::vector<int64_t> stage_steps(int64_t steps) const { return {steps}; }
  virtual void begin_stage(int stage, const StageContext& context) {
    (void)stage, (void)context;
  }
  // A term added to the task's loss at every step (TAPS's sparsity pressure on its scores), undefined for none.
  virtual at::Tensor penalty() const { return {}; }
  // Training (true) or evaluation (false): what differs between them (ScaLearn's dropout on its scales).
  virtual void set_training(bool training) { (void)training; }
  // What a task keeps beside the shared host (tal finetune --save-weights writes it as safetensors): the modules,
  // then the host tensors the method trains (head, LayerNorms), under the family's names.
  std::vector<std::pair<std::string, at::Tensor>> stored() const {
    auto out = modules();
    out.insert(out.end(), host_.begin(), host_.end());
    return out;
  }

 protected:
  // Freezes every host tensor for which `trained` is false, makes the others trainable and remembers them; returns
  // them in the family's parameter order.
  std::vector<at::Tensor> train_host(const ArchSpec& spec, ParamMap& params,
                                     const std::function<bool(const std::string&)>& trained);

 private:
  std::vector<std::pair<std::string, at::Tensor>> host_;
};

class Method {
 public:
  virtual ~Method() = default;
  virtual std::string name() const = 0;
  // One line for the option table's help.
  virtual std::string summary() const = 0;
  // The budget keys and their defaults, in canonical order ("auto": follows from the architecture).
  virtual std::vector<std::pair<std::string, std::string>> keys() const { return {}; }
  // Freezes what the method does not train, makes its modules from `seed` on the host's device. A budget that does
  // not fit `spec` (a rank above the width) is one line naming key 'finetune.methods'.
  virtual std::unique_ptr<Adaptation> attach(const MethodSpec& method, const ArchSpec& spec, ParamMap& params,
                                             uint64_t seed) const = 0;
  // Whether its modules exist from the first step and can be carried to another host (methods/porting.h).
  virtual bool ports() const { return false; }
  // Whether its runs keep their stored tensors in the run (RUN/modules/) for tal report to read (ScaLearn's scales,
  // TAPS's scores).
  virtual bool keeps_modules() const { return false; }
  // A multi-task method: the method (canonical, with its budget) whose runs on the same host give its sources; ""
  // for a method that reads none. Such a method is attached with them.
  virtual std::string source_method(const MethodSpec& method) const {
    (void)method;
    return "";
  }
  // Whether its sources are its own runs on the tasks before the run's task in the suite order (CWPS's pool) rather
  // than every task's: the grid runs such a method's cells one suite position after another.
  virtual bool incremental() const { return false; }
  virtual std::unique_ptr<Adaptation> attach(const MethodSpec& method, const ArchSpec& spec, ParamMap& params,
                                             uint64_t seed, const SourceModules& sources) const {
    (void)sources;
    return attach(method, spec, params, seed);
  }
};

// The registry.
std::vector<std::string> method_names();
const Method& method_named(const std::string& name);
// "lora:r=4" -> every key; unknown methods and keys, and values that are not numbers where numbers are due, are one
// line naming key 'finetune.methods'.
MethodSpec parse_method(const std::string& text);
// A comma-separated command-line list back into methods: "lora:r=4,alpha=8,head" is lora:r=4,alpha=8 and head.
std::vector<std::string> regroup_methods(const std::vector<std::string>& items);
// Attaches `text`'s method to a host (a multi-task method with its sources).
std::unique_ptr<Adaptation> attach_method(const std::string& text, const ArchSpec& spec, ParamMap& params,
                                          uint64_t seed, const SourceModules* sources = nullptr);

// Helpers the methods share.
int64_t numel_of(const std::vector<at::Tensor>& tensors);
// The descendant's width and depth, as the spec keys them.
int64_t width_of(const ArchSpec& spec);
int64_t depth_of(const ArchSpec& spec);

}  // namespace tal
