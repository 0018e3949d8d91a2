import { boolValue, statementOf, stringValue } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import type { FixInput } from "../../src/engine/rule.js";
import { defineCheck } from "../../src/engine/rule.js";
import { onTriggerLine, torchAlias, usesCuda } from "./_tensors.js";

const TORCH_SEEDS = ["torch.manual_seed", "torch.cuda.manual_seed", "torch.cuda.manual_seed_all"];
const OTHER_SEEDS = [
  "lightning.pytorch.seed_everything",
  "lightning.pytorch.utilities.seed.seed_everything",
  "lightning.fabric.seed_everything",
  "lightning.fabric.utilities.seed.seed_everything",
  "transformers.set_seed",
  "transformers.trainer_utils.set_seed",
  "accelerate.utils.set_seed",
];
const DETERMINISTIC = "torch.backends.cudnn.deterministic";
const BENCHMARK = "torch.backends.cudnn.benchmark";
const ENABLED = "torch.backends.cudnn.enabled";
const SWITCH = /determinis|reproducib|benchmark/i;

// What makes cuDNN's algorithm choice matter: a convolution in the file, as a layer, a functional
// call, or a torchvision/timm/segmentation_models_pytorch CNN (their weight enums are not models).
const CONVOLUTION =
  /^torch\.nn\.(modules\.conv\.)?(Lazy)?Conv(Transpose)?[123]d$|^torch\.nn\.functional\.conv(_transpose)?[123]d$|^torchvision\.ops\.(DeformConv2d|deform_conv2d)$|^timm\.create_model$|^segmentation_models_pytorch\.\w+$/;
const TORCHVISION_MODEL = /^torchvision\.models\.(\w+\.)*[a-z]\w*$/;
const NOT_A_MODEL = /_Weights\b|\.(get_weight|get_model_weights|list_models)$/;

// A model class imported from the project whose name says it is a CNN (`from models import TestResNet`).
const CNN_CLASS =
  /(ResNe[tX]t?|DenseNet|VGG|U_?Net|CNN|EfficientNet|MobileNet|Inception|AlexNet|RegNet|SqueezeNet|ShuffleNet|Conv(?![a-z]))\w*$/;

function usesConvolution(py: PythonModel): boolean {
  return py.calls.some((c) => {
    if (c.name === undefined) return false;
    if (CONVOLUTION.test(c.name)) return true;
    if (TORCHVISION_MODEL.test(c.name)) return !NOT_A_MODEL.test(c.name);
    // Only a class (capitalised): `TestResNet(...)`, `models.UNet(...)`.
    const last = c.name.slice(c.name.lastIndexOf(".") + 1);
    return /^[A-Z]/.test(last) && CNN_CLASS.test(last);
  });
}

// Layers of a model the file shows that involve no convolution. When the file builds its model
// from these alone (an LSTM, a Transformer, an MLP, a KAN), cuDNN's convolution choice changes
// nothing; when the model is not visible here (imported from another module), it may well be a CNN.
const NON_CONV_LAYER =
  /^torch\.nn\.(Linear|Bilinear|LSTM|GRU|RNN|LSTMCell|GRUCell|RNNCell|Transformer\w*|MultiheadAttention|Embedding\w*)$/;

// A model class whose name says it is sequence- or attention-based (`GPT(...)`, `TransformerLM(...)`).
const NON_CONV_CLASS = /^(GPT|Bert|BERT|Transformer|LSTM|GRU|RNN|Llama|LLaMA|T5|Mamba|MLP|KAN|MultKAN)\w*$/;

function showsModelWithoutConvolution(py: PythonModel): boolean {
  if (py.importsModule("kan", "pykan")) return true;
  return py.calls.some((c) => {
    if (c.name === undefined) return false;
    if (NON_CONV_LAYER.test(c.name)) return true;
    return NON_CONV_CLASS.test(c.name.slice(c.name.lastIndexOf(".") + 1));
  });
}

// Without convolutions, what is left that is non-deterministic on CUDA and that
// `torch.use_deterministic_algorithms(True)` fixes: the ops whose whole point is to add many values
// into shared slots, which CUDA does with atomic adds in whatever order threads finish.
const ATOMIC_ADD = new Set(["index_add", "index_add_", "scatter_add", "scatter_add_"]);
const SCATTER_REDUCE = new Set(["scatter_reduce", "scatter_reduce_"]);

function atomicAccumulation(py: PythonModel): CallSite | undefined {
  return py.calls.find((c) => {
    if (!c.method || !(c.receiver || c.name?.startsWith("torch."))) return false;
    if (ATOMIC_ADD.has(c.method)) return true;
    if (!SCATTER_REDUCE.has(c.method)) return false;
    // `scatter_reduce(dim, index, src, reduce)` on a tensor; `torch.scatter_reduce(input, dim, index, src, reduce)`.
    const reduce = stringValue(c.arg("reduce", c.receiver && !c.name?.startsWith("torch.") ? 3 : 4));
    return reduce === "sum" || reduce === "mean";
  });
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const seeds = py.callsTo(...TORCH_SEEDS, ...OTHER_SEEDS);
  if (seeds.length === 0) return;
  const cudnnFlag = (name: string) =>
    py.assignments.filter((a) => a.op === "=" && a.targets.length === 1 && py.resolve(a.targets[0]) === name);
  // `if args.deterministic: ... else: cudnn.benchmark = True` is a switch the user sets on purpose.
  const switched = (a: { start: number; end: number }) =>
    py.ifs.some((i) => i.start <= a.start && a.end <= i.end && SWITCH.test(i.condition.text));
  const benchmarks = cudnnFlag(BENCHMARK).filter((a) => boolValue(a.value) === true && !switched(a));
  if (benchmarks.length === 0 && !usesCuda(py)) return;

  for (const b of benchmarks) {
    ctx.report(b.value!, {
      message:
        "`cudnn.benchmark = True` in a seeded script: cuDNN times several convolution algorithms on the first batches and keeps the fastest, and that choice can differ between runs, so the seed no longer reproduces results. Set it to False (and `torch.backends.cudnn.deterministic = True`) for reproducible runs.",
      fix: { description: "turn off cuDNN benchmarking", edits: [{ at: b.value!, text: "False" }] },
    });
  }

  // A variable value (`= args.deterministic`) is a deliberate switch; only a literal False is "not set".
  const deterministic =
    cudnnFlag(DETERMINISTIC).some((a) => boolValue(a.value) !== false) ||
    // With cuDNN switched off there is no cuDNN algorithm choice left to make deterministic.
    cudnnFlag(ENABLED).some((a) => boolValue(a.value) === false) ||
    seeds.some((s) => {
      const d = s.keywords.get("deterministic");
      return d !== undefined && boolValue(d) !== false;
    }) ||
    py
      .callsTo("torch.use_deterministic_algorithms")
      .some((c) => c.args[0] && boolValue(c.args[0]) !== false) ||
    py.callsTo("lightning.pytorch.Trainer", "lightning.pytorch.trainer.Trainer").some((c) => {
      const d = c.keywords.get("deterministic");
      return c.hasSplat || (d !== undefined && boolValue(d) !== false);
    });
  // One comment per file: the benchmark finding already says to make cuDNN deterministic.
  if (deterministic || benchmarks.length > 0) return;

  // `cudnn.deterministic` only constrains cuDNN's convolution algorithms: a file without
  // convolutions (an LSTM, a Transformer, a KAN) has nothing for it to fix, and is left alone
  // unless it calls an op that accumulates with atomic adds, which the message then names.
  const conv = usesConvolution(py);
  const atomic = conv ? undefined : atomicAccumulation(py);
  if (!conv && !atomic && showsModelWithoutConvolution(py)) return;

  // `cudnn.deterministic = False` written out is the line to change, not the seed.
  const off = conv
    ? cudnnFlag(DETERMINISTIC).find(
        (a) =>
          boolValue(a.value) === false && !switched(a) && ctx.isAdded(a.line) && onTriggerLine(ctx, a.line),
      )
    : undefined;
  if (off) {
    ctx.report(off.value!, {
      message:
        "`cudnn.deterministic = False` in a seeded script that runs on CUDA: cuDNN may then pick convolution algorithms that accumulate with atomic adds, so two runs with the same seed can still give different results. Set it to True (and keep `cudnn.benchmark = False`), or call `torch.use_deterministic_algorithms(True)`.",
      fix: { description: "make cuDNN deterministic", edits: [{ at: off.value!, text: "True" }] },
    });
    return;
  }

  const site =
    seeds.find((s) => ctx.isAdded(s.line) && onTriggerLine(ctx, s.line) && s.is(...TORCH_SEEDS)) ??
    seeds.find((s) => ctx.isAdded(s.line) && onTriggerLine(ctx, s.line));
  if (!site) return;
  const lightning = site.is("lightning.**");
  if (atomic) {
    const op = `\`${atomic.method}\` (line ${atomic.line})`;
    ctx.report(site, {
      message: lightning
        ? `This run is seeded and uses CUDA, but ${op} adds values into shared slots with atomic adds on the GPU, in whatever order threads finish, so two runs with the same seed can differ. Pass \`deterministic=True\` to the \`Trainer\` (it calls \`torch.use_deterministic_algorithms(True)\`, which switches it to a deterministic implementation).`
        : `This script is seeded and runs on CUDA, but ${op} adds values into shared slots with atomic adds on the GPU, in whatever order threads finish, so two runs with the same seed can differ. \`torch.backends.cudnn.deterministic\` does not cover it: call \`torch.use_deterministic_algorithms(True)\`, which switches it to a deterministic implementation (and set \`CUBLAS_WORKSPACE_CONFIG=:4096:8\`, or that mode raises on CUDA matrix multiplies).`,
    });
    return;
  }
  const torch = torchAlias(py);
  const stmt = statementOf(site.node);
  let fix: FixInput | undefined;
  // Only for a seed call on a line of its own, indented with that line's own whitespace.
  const lineText = ctx.lines[stmt.startPosition.row] ?? "";
  const indent = lineText.slice(0, stmt.startPosition.column);
  const ownLine = indent.trim() === "";
  if (
    !lightning &&
    torch &&
    ownLine &&
    stmt.type === "expression_statement" &&
    stmt.text === site.node.text
  ) {
    fix = {
      description: "make cuDNN deterministic",
      edits: [{ at: stmt, text: `${stmt.text}\n${indent}${torch}.backends.cudnn.deterministic = True` }],
    };
  }
  ctx.report(site, {
    message: lightning
      ? "This run is seeded and uses CUDA, but cuDNN may still pick non-deterministic convolution algorithms, so two runs with the same seed can differ. Pass `deterministic=True` to the `Trainer` (it sets `torch.use_deterministic_algorithms(True)`)."
      : undefined,
    fix,
  });
});
