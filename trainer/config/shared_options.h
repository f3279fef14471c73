// The table entries of the shared sections (TalOptions): every command that reads the run's configuration adds
// these, then its own section (commands.h). Lists of choices come from the module that owns them.
#pragma once

#include "datasets/tasks.h"
#include "dist/device.h"
#include "dist/dist_context.h"
#include "hypernet/family_registry.h"
#include "trainer/config/option_table.h"
#include "trainer/config/options.h"

namespace tal {

template <class Opts>
void add_run_options(OptionTable<Opts>& t) {
  t.add(opt<Opts>("run.dir", [](auto& o) -> auto& { return o.run.dir; }, "run directory"));
  t.add(opt<Opts>("run.seed", [](auto& o) -> auto& { return o.run.seed; }, "global seed").alias("--seed").range(0, 4.6e18));
  t.add(opt<Opts>("run.memory_limit", [](auto& o) -> auto& { return o.run.memory_limit; },
                  "bytes a configuration may need; larger ones are refused with the estimate (0: physical memory)")
            .range(0, 9.2e18));
}

template <class Opts>
void add_zoo_options(OptionTable<Opts>& t) {
  t.add(opt<Opts>("zoo.family", [](auto& o) -> auto& { return o.zoo.family; }, "architecture family")
            .alias("--family")
            .choices(family_names()));
  t.add(opt<Opts>("zoo.rules", [](auto& o) -> auto& { return o.zoo.rules; }, "sampling rules")
            .alias("--rules")
            .choices(all_zoo_rules()));
  t.add(opt<Opts>("zoo.profile", [](auto& o) -> auto& { return o.zoo.profile; }, "scale profile")
            .alias("--profile")
            .choices(zoo_profile_names()));
  t.add(opt<Opts>("zoo.image", [](auto& o) -> auto& { return o.zoo.image; }, "input image side where no task fixes it")
            .range(1, 4096));
  t.add(opt<Opts>("zoo.channels", [](auto& o) -> auto& { return o.zoo.channels; }, "input channels").range(1, 64));
  t.add(opt<Opts>("zoo.classes", [](auto& o) -> auto& { return o.zoo.classes; },
                  "classifier outputs where no task fixes them (0: the family's, vit 10, gpt2 the language-model head)")
            .range(0, 1000000));
  t.add(opt<Opts>("zoo.max_width", [](auto& o) -> auto& { return o.zoo.max_width; },
                  "the widest architecture drawn; wider draws are drawn again (0: no cap; an inheriting hypernetwork "
                  "uses its ancestry's width)")
            .range(0, 1000000));
  t.add(opt<Opts>("zoo.vocab", [](auto& o) -> auto& { return o.zoo.vocab; }, "token vocabulary").range(1, 1000000));
  t.add(opt<Opts>("zoo.context", [](auto& o) -> auto& { return o.zoo.context; }, "token context length").range(1, 65536));
}

template <class Opts>
void add_hypernet_options(OptionTable<Opts>& t) {
  const auto bound = [](const char* key) { return hypernet_size_bound(key); };
  t.add(opt<Opts>("hypernet.variant", [](auto& o) -> auto& { return o.hypernet.variant; },
                  "ghn3 (tiled decoder), logah (low-rank decoder) or tal (logah + task FiLM)")
            .choices(hypernet_variant_names()));
  t.add(opt<Opts>("hypernet.base", [](auto& o) -> auto& { return o.hypernet.base; },
                  "none (every tensor predicted), ancestry (inheritance: the ancestry's weight-selected tensors plus "
                  "a gated, predicted correction; at step 0 the prediction is weight selection) or init (the same "
                  "residual on the family's initialisation of each architecture; at step 0 a random start)")
            .choices(hypernet_base_names()));
  t.add(opt<Opts>("hypernet.factor_bias", [](auto& o) -> auto& { return o.hypernet.factor_bias; },
                  "logah/tal: add the low-rank decoder's l2 bias to every node's factors, as the reference does "
                  "(false: leave that shared term out)"));
  t.add(opt<Opts>("hypernet.hidden", [](auto& o) -> auto& { return o.hypernet.hidden; }, "node embedding width d")
            .range(bound("hidden").min, bound("hidden").max));
  t.add(opt<Opts>("hypernet.layers", [](auto& o) -> auto& { return o.hypernet.layers; }, "Graphormer layers")
            .range(bound("layers").min, bound("layers").max));
  t.add(opt<Opts>("hypernet.heads", [](auto& o) -> auto& { return o.hypernet.heads; }, "attention heads").range(bound("heads").min, bound("heads").max));
  t.add(opt<Opts>("hypernet.rank", [](auto& o) -> auto& { return o.hypernet.rank; }, "low-rank decoder rank r")
            .range(bound("rank").min, bound("rank").max));
  t.add(opt<Opts>("hypernet.max_shape", [](auto& o) -> auto& { return o.hypernet.max_shape; },
                  "widest channel count decoded without tiling")
            .range(bound("max_shape").min, bound("max_shape").max));
  t.add(opt<Opts>("hypernet.spatial", [](auto& o) -> auto& { return o.hypernet.spatial; },
                  "largest kernel side decoded (shape vocabulary)")
            .range(bound("spatial").min, bound("spatial").max));
  t.add(opt<Opts>("hypernet.max_ck", [](auto& o) -> auto& { return o.hypernet.max_ck; },
                  "low-rank factor length (c*k of any dimension)")
            .range(bound("max_ck").min, bound("max_ck").max));
  t.add(opt<Opts>("hypernet.num_classes", [](auto& o) -> auto& { return o.hypernet.num_classes; },
                  "class count known to the shape encoder / GHN-3 class predictor")
            .range(bound("num_classes").min, bound("num_classes").max));
  t.add(opt<Opts>("hypernet.task_dim", [](auto& o) -> auto& { return o.hypernet.task_dim; },
                  "task embedding width (tal)")
            .range(bound("task_dim").min, bound("task_dim").max));
  t.add(opt<Opts>("hypernet.task_layer", [](auto& o) -> auto& { return o.hypernet.task_layer; },
                  "hidden width of the task-specific MLP (tal); 0 = identity, as the released TAL code")
            .range(bound("task_layer").min, bound("task_layer").max));
}

template <class Opts>
void add_device_option(OptionTable<Opts>& t) {
  t.add(opt<Opts>("device", [](auto& o) -> auto& { return o.device; },
                  "auto (a GPU when the binary has CUDA and the rank sees one, else the CPU) | cpu | cuda")
            .alias("--device")
            .choices(device_names()));
}

template <class Opts>
void add_threads_option(OptionTable<Opts>& t) {
  t.add(opt<Opts>("threads", [](auto& o) -> auto& { return o.threads; }, "intra-op threads per process (0: LibTorch's default)")
            .alias("--threads")
            .range(0, 1024));
}

// Every shared section, in the order --help and --dump-config show them.
template <class Opts>
void add_tal_options(OptionTable<Opts>& t) {
  add_run_options(t);
  t.add(opt<Opts>("data.root", [](auto& o) -> auto& { return o.data.root; }, "where task stores are looked up"));
  t.add(opt<Opts>("data.memory_limit", [](auto& o) -> auto& { return o.data.memory_limit; },
                  "bytes of a split held in memory; larger splits are streamed (environment: TAL_DATA_MEMORY_LIMIT)")
            .range(0));
  add_zoo_options(t);
  add_hypernet_options(t);
  // tasks
  t.add(opt<Opts>("tasks.suite", [](auto& o) -> auto& { return o.tasks.suite; }, "task-suite YAML"));
  t.add(opt<Opts>("tasks.train", [](auto& o) -> auto& { return o.tasks.train; },
                  "tasks for multi-task training (empty: all not held out)"));
  t.add(opt<Opts>("tasks.heldout", [](auto& o) -> auto& { return o.tasks.heldout; },
                  "tasks for transfer evaluation (empty: the suite's held-out tasks)"));
  t.add(opt<Opts>("tasks.embeddings", [](auto& o) -> auto& { return o.tasks.embeddings; }, "task-embedding file"));
  t.add(opt<Opts>("tasks.temperature", [](auto& o) -> auto& { return o.tasks.temperature; },
                  "task sampling temperature T in p ~ (n/N)^(1/T)")
            .range(1e-6));
  t.add(opt<Opts>("tasks.embed_images", [](auto& o) -> auto& { return o.tasks.embed_images; },
                  "training images averaged per task embedding (0: all)")
            .range(0, 1e9));
  // ancestry
  t.add(opt<Opts>("ancestry.checkpoint", [](auto& o) -> auto& { return o.ancestry.checkpoint; }, "ancestry model file"));
  t.add(opt<Opts>("ancestry.dataset", [](auto& o) -> auto& { return o.ancestry.dataset; }, "its task store"));
  t.add(opt<Opts>("ancestry.arch", [](auto& o) -> auto& { return o.ancestry.arch; }, "its spec"));
  t.add(opt<Opts>("ancestry.classes", [](auto& o) -> auto& { return o.ancestry.classes; },
                  "train on these classes of ancestry.dataset only, by name or index (empty: all); the others stay "
                  "unseen, for class-disjoint held-out tasks"));
  t.add(opt<Opts>("ancestry.epochs", [](auto& o) -> auto& { return o.ancestry.epochs; }, "epochs").range(1, 100000));
  t.add(opt<Opts>("ancestry.batch", [](auto& o) -> auto& { return o.ancestry.batch; }, "images per step").range(1, 65536));
  t.add(opt<Opts>("ancestry.lr", [](auto& o) -> auto& { return o.ancestry.lr; }, "peak AdamW learning rate").range(0));
  t.add(opt<Opts>("ancestry.weight_decay", [](auto& o) -> auto& { return o.ancestry.weight_decay; }, "AdamW decay").range(0));
  t.add(opt<Opts>("ancestry.warmup", [](auto& o) -> auto& { return o.ancestry.warmup; }, "warm-up steps").range(0, 1e9));
  t.add(opt<Opts>("ancestry.label_smoothing", [](auto& o) -> auto& { return o.ancestry.label_smoothing; },
                  "label smoothing").range(0, 1));
  t.add(opt<Opts>("ancestry.clip", [](auto& o) -> auto& { return o.ancestry.clip; }, "gradient clipping (0: off)").range(0));
  t.add(opt<Opts>("ancestry.crop_padding", [](auto& o) -> auto& { return o.ancestry.crop_padding; }, "crop padding").range(0, 1024));
  t.add(opt<Opts>("ancestry.flip", [](auto& o) -> auto& { return o.ancestry.flip; }, "random horizontal flips"));
  t.add(opt<Opts>("ancestry.max_steps", [](auto& o) -> auto& { return o.ancestry.max_steps; }, "stop early (0: off)").range(0, 1e12));
  t.add(opt<Opts>("ancestry.log_every", [](auto& o) -> auto& { return o.ancestry.log_every; }, "progress every N").range(1, 1e9));
  // train
  t.add(opt<Opts>("train.stage", [](auto& o) -> auto& { return o.train.stage; },
                  "pretrain (stage 1, KD from the ancestry), multitask (stage 2, task FiLM) or both")
            .choices(train_stage_names()));
  t.add(opt<Opts>("train.pretrain_steps", [](auto& o) -> auto& { return o.train.pretrain_steps; },
                  "stage=both: stage-1 steps before the train.steps of stage 2").range(0, 1e9));
  t.add(opt<Opts>("train.dataset", [](auto& o) -> auto& { return o.train.dataset; }, "stage-1 task store"));
  t.add(opt<Opts>("train.classes", [](auto& o) -> auto& { return o.train.classes; },
                  "stage 1 on these classes of train.dataset only (empty: all); stage-2 tasks on that store must keep "
                  "to them, so held-out tasks of other classes stay unseen"));
  t.add(opt<Opts>("train.transform", [](auto& o) -> auto& { return o.train.transform; },
                  "stage-1 image transform")
            .choices(task_transform_names()));
  t.add(opt<Opts>("train.steps", [](auto& o) -> auto& { return o.train.steps; }, "steps (of stage 2 when stage=both)").range(1, 1e9));
  t.add(opt<Opts>("train.meta_batch", [](auto& o) -> auto& { return o.train.meta_batch; },
                  "work units (architectures) per step").range(1, 4096));
  t.add(opt<Opts>("train.batch", [](auto& o) -> auto& { return o.train.batch; }, "images per work unit").range(1, 65536));
  t.add(opt<Opts>("train.chunk_images", [](auto& o) -> auto& { return o.train.chunk_images; },
                  "images per chunk: the unit of work ranks share (0: whole units); the same on every world size")
            .range(0, 65536));
  t.add(opt<Opts>("train.lr", [](auto& o) -> auto& { return o.train.lr; }, "peak AdamW learning rate").range(0));
  t.add(opt<Opts>("train.weight_decay", [](auto& o) -> auto& { return o.train.weight_decay; }, "AdamW decay").range(0));
  t.add(opt<Opts>("train.warmup", [](auto& o) -> auto& { return o.train.warmup; }, "warm-up steps").range(0, 1e9));
  t.add(opt<Opts>("train.clip", [](auto& o) -> auto& { return o.train.clip; }, "gradient clipping (0: off)").range(0));
  t.add(opt<Opts>("train.label_smoothing", [](auto& o) -> auto& { return o.train.label_smoothing; },
                  "label smoothing").range(0, 1));
  t.add(opt<Opts>("train.kd_weight", [](auto& o) -> auto& { return o.train.kd_weight; },
                  "stage-1 distillation weight").range(0, 1));
  t.add(opt<Opts>("train.kd_temperature", [](auto& o) -> auto& { return o.train.kd_temperature; },
                  "distillation temperature").range(1e-6));
  t.add(opt<Opts>("train.autocast", [](auto& o) -> auto& { return o.train.autocast; },
                  "mixed precision of the target models: auto (bf16 on a GPU or a CPU with bf16 instructions, else "
                  "off), off (float32) or bf16 (bfloat16 matrix products, float32 losses, master weights and optimizer)")
            .choices({"auto", "off", "bf16"}));
  t.add(opt<Opts>("train.reg_weight", [](auto& o) -> auto& { return o.train.reg_weight; },
                  "weight of the sum of predicted-tensor norms").range(0));
  t.add(opt<Opts>("train.ema", [](auto& o) -> auto& { return o.train.ema; }, "EMA decay of hypernet weights (0: off)")
            .range(0, 1));
  t.add(opt<Opts>("train.max_bad_steps", [](auto& o) -> auto& { return o.train.max_bad_steps; },
                  "abort after this many consecutive non-finite steps").range(1, 1e6));
  t.add(opt<Opts>("train.log_every", [](auto& o) -> auto& { return o.train.log_every; }, "progress every N steps").range(1, 1e9));
  t.add(opt<Opts>("train.eval_every", [](auto& o) -> auto& { return o.train.eval_every; },
                  "held-out evaluation every N steps (0: at the end)").range(0, 1e9));
  t.add(opt<Opts>("train.eval_archs", [](auto& o) -> auto& { return o.train.eval_archs; },
                  "held-out architectures evaluated").range(0, 1000));
  t.add(opt<Opts>("train.eval_images", [](auto& o) -> auto& { return o.train.eval_images; },
                  "test images per evaluation").range(1, 1e7));
  t.add(opt<Opts>("train.init", [](auto& o) -> auto& { return o.train.init; },
                  "checkpoint to initialise from (stage 2: the stage-1 result)"));
  t.add(opt<Opts>("train.until_step", [](auto& o) -> auto& { return o.train.until_step; },
                  "stop with a checkpoint after this step (0: run to the end); a resumed run continues the schedule")
            .alias("--until-step")
            .range(0, 2e9));
  // checkpoint
  t.add(opt<Opts>("checkpoint.every", [](auto& o) -> auto& { return o.checkpoint.every; },
                  "steps between checkpoints (0: end and preemption only)").range(0, 1e9));
  t.add(opt<Opts>("checkpoint.keep", [](auto& o) -> auto& { return o.checkpoint.keep; }, "keep the last K").range(1, 1e6));
  t.add(opt<Opts>("checkpoint.keep_every", [](auto& o) -> auto& { return o.checkpoint.keep_every; },
                  "also keep every M-th step (0: none)").range(0, 1e9));
  // dist
  t.add(opt<Opts>("dist.backend", [](auto& o) -> auto& { return o.dist.backend; }, "collective backend")
            .choices(dist_backend_names()));
  t.add(opt<Opts>("dist.watchdog_seconds", [](auto& o) -> auto& { return o.dist.watchdog_seconds; },
                  "abort when a collective stalls this long").range(1, 1e6));
  // debug
  t.add(opt<Opts>("debug.nan_steps", [](auto& o) -> auto& { return o.debug.nan_steps; },
                  "fault injection for tests: 'rank:step,...' makes that rank's loss non-finite at that step"));
  t.add(opt<Opts>("debug.oom_steps", [](auto& o) -> auto& { return o.debug.oom_steps; },
                  "fault injection for tests: 'rank:step,...' makes that rank run out of memory in that step"));
  t.add(opt<Opts>("debug.checkpoint_delay_ms", [](auto& o) -> auto& { return o.debug.checkpoint_delay_ms; },
                  "fault injection for tests: stall each checkpoint write half-way")
            .range(0, 600000));
  add_threads_option(t);
  add_device_option(t);
}

}  // namespace tal
