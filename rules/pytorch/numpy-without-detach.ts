import type { Node } from "web-tree-sitter";
import { boolValue } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel, Span } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import {
  bindingOf,
  calleeName,
  gradDisabledAt,
  isCudaString,
  isModelCallee,
  keyword,
  methodName,
  positional,
  receiverOf,
  usesCuda,
} from "./_tensors.js";

// Results that never carry a graph: detached views, integer/boolean tensors, Python values.
const SAFE_METHODS = new Set([
  "detach",
  "item",
  "tolist",
  "numpy",
  "argmax",
  "argmin",
  "argsort",
  "long",
  "int",
  "bool",
  "byte",
  "short",
  "eq",
  "ne",
  "gt",
  "lt",
  "ge",
  "le",
  "isnan",
  "isinf",
  "nonzero",
]);
// Tensor methods whose result is still part of the graph when their input is.
const GRAPH_METHODS = new Set([
  "cpu",
  "cuda",
  "to",
  "float",
  "double",
  "half",
  "bfloat16",
  "squeeze",
  "unsqueeze",
  "view",
  "reshape",
  "flatten",
  "contiguous",
  "clone",
  "permute",
  "transpose",
  "t",
  "mean",
  "sum",
  "exp",
  "log",
  "sigmoid",
  "softmax",
  "log_softmax",
  "tanh",
  "relu",
  "abs",
  "sqrt",
  "pow",
  "norm",
  "select",
  "narrow",
  "expand",
  "repeat",
  "type_as",
  "masked_fill",
  "clamp",
  "add",
  "sub",
  "mul",
  "div",
  "matmul",
]);
// Moves and casts between a name and its `.numpy()`: `loss.cpu().numpy()`, `out.float().cpu()`.
const GRAPH_CHAIN = new Set([
  "cpu",
  "float",
  "double",
  "squeeze",
  "view",
  "reshape",
  "flatten",
  "contiguous",
]);
// Methods that return tuples (values, indices): what their subscript holds is not tracked.
const TUPLE_METHODS = new Set(["max", "min", "topk", "sort", "kthvalue", "median", "mode", "chunk", "split"]);
// `outputs.logits` and friends on model output objects (transformers, torchvision detection).
const OUTPUT_FIELDS = new Set([
  "logits",
  "loss",
  "last_hidden_state",
  "pooler_output",
  "hidden_states",
  "attentions",
  "prediction_logits",
  "start_logits",
  "end_logits",
  "T",
  "mT",
  "real",
  "imag",
]);
const TORCH_FUNCTIONS = /^torch\.(nn\.functional\.)?[a-z_0-9]+$/;
const SAFE_FUNCTIONS =
  /^torch\.(argmax|argmin|argsort|eq|ne|gt|lt|ge|le|isnan|isinf|isclose|isfinite|count_nonzero|bincount|bucketize|searchsorted|no_grad|tensor|from_numpy|as_tensor|nn\.functional\.one_hot)$/;
const TENSOR_FACTORIES =
  /^torch\.(tensor|zeros|ones|randn|rand|empty|full|arange|linspace|eye|zeros_like|ones_like|randn_like|rand_like|empty_like|full_like)$/;

/** Why a value is in the graph; `via` is the line of the call that passed it into a helper. */
type Origin = {
  kind: "output" | "loss" | "parameter" | "leaf";
  text: string;
  via?: number;
  appended?: number;
};

class Tracer {
  private readonly seen = new Set<number>();

  constructor(private readonly py: PythonModel) {}

  /** What makes the value of `node` (at `at`) part of an autograd graph, or undefined if unknown. */
  origin(node: Node | null | undefined, at: Span, depth = 0): Origin | undefined {
    if (!node || depth > 12) return undefined;
    switch (node.type) {
      case "parenthesized_expression":
        return this.origin(node.namedChildren[0], at, depth + 1);
      case "binary_operator":
        return (
          this.origin(node.childForFieldName("left"), at, depth + 1) ??
          this.origin(node.childForFieldName("right"), at, depth + 1)
        );
      case "subscript": {
        const value = node.childForFieldName("value");
        if (value?.type === "call" && TUPLE_METHODS.has(methodName(value) ?? "")) return undefined;
        return this.origin(value, at, depth + 1);
      }
      case "attribute": {
        const attr = node.childForFieldName("attribute")?.text ?? "";
        const obj = node.childForFieldName("object");
        if (OUTPUT_FIELDS.has(attr)) return this.origin(obj, at, depth + 1);
        if ((attr === "weight" || attr === "bias") && obj) {
          const text = node.text.replace(/\s+/g, "");
          if (obj.text === "self") return this.ofName(text, at, depth);
          return this.isModule(obj, at) ? { kind: "parameter", text } : undefined;
        }
        // `self.x` may be bound to a model output elsewhere in the class: too far to follow.
        return node.text.startsWith("self.") ? undefined : this.ofName(node.text, at, depth);
      }
      case "identifier":
        return this.ofName(node.text, at, depth);
      case "call":
        return this.ofCall(node, at, depth);
      default:
        return undefined;
    }
  }

  private ofName(name: string, at: Span, depth: number): Origin | undefined {
    const py = this.py;
    const param = this.parameterLoopTarget(name, at);
    if (param) return param;
    const binding = bindingOf(py, name, at);
    if (!binding) return this.ofParameter(name, at, depth);
    if (!binding.value || this.seen.has(binding.start)) return undefined;
    // A value computed with gradients off carries no graph, wherever it is used later.
    if (gradDisabledAt(py, binding)) return undefined;
    this.seen.add(binding.start);

    if (binding.value.type === "list" && binding.value.namedChildren.length === 0)
      return this.appendedTo(name, binding, at, depth);
    return this.origin(binding.value, binding, depth + 1);
  }

  /** `losses = []` then `losses.append(loss)`: the list holds whatever was appended with gradients on. */
  private appendedTo(name: string, binding: Span, at: Span, depth: number): Origin | undefined {
    const fn = this.py.functionAt(binding);
    for (const call of this.py.methodCalls("append")) {
      if (call.receiver?.text !== name || call.start < binding.end || call.start >= at.start) continue;
      if (this.py.functionAt(call) !== fn || gradDisabledAt(this.py, call)) continue;
      const o = this.origin(call.args[0], call, depth + 1);
      if (o) return { ...o, appended: call.line };
    }
    return undefined;
  }

  /**
   * A helper's parameter (`def to_numpy(t): return t.numpy()`) holds a graph tensor when a call
   * in this file passes one: `to_numpy(model(x))`, `self.log_array(loss)`.
   */
  private ofParameter(name: string, at: Span, depth: number): Origin | undefined {
    const py = this.py;
    const fn = py.functionAt(at);
    if (!fn || this.seen.has(fn.start)) return undefined;
    const index = fn.params.findIndex((p) => p.name === name && !p.variadic);
    if (index < 0) return undefined;
    this.seen.add(fn.start);
    const shift = fn.isMethod ? 1 : 0;
    for (const call of py.calls) {
      const direct = !fn.isMethod && call.name === fn.name && call.callee.type === "identifier";
      const onSelf = fn.isMethod && call.method === fn.name && call.receiver?.text === "self";
      if ((!direct && !onSelf) || (fn.start <= call.start && call.end <= fn.end)) continue;
      if (gradDisabledAt(py, call)) continue;
      const arg = call.arg(name, index - shift);
      const o = arg ? this.origin(arg, call, depth + 1) : undefined;
      if (o) return { ...o, via: call.line };
    }
    return undefined;
  }

  /** True when `obj` (`model.conv1`, `self.encoder.fc`, `model[0]`) is a module or hangs off one. */
  private isModule(obj: Node, at: Span): boolean {
    const parent = (n: Node) =>
      n.type === "attribute"
        ? n.childForFieldName("object")
        : n.type === "subscript"
          ? n.childForFieldName("value")
          : null;
    for (let n: Node | null = obj; n; n = parent(n)) {
      if (isModelCallee(this.py, n, at)) return true;
    }
    return false;
  }

  /** `for p in model.parameters()` / `for name, p in model.named_parameters()`. */
  private parameterLoopTarget(name: string, at: Span): Origin | undefined {
    for (const loop of this.py.loopsAt(at)) {
      const iter = loop.iter;
      const target = loop.target;
      if (!iter || !target || iter.type !== "call") continue;
      const m = methodName(iter);
      if (m !== "parameters" && m !== "named_parameters") continue;
      const bound = target.type === "identifier" ? target.text : target.namedChildren.at(-1)?.text;
      if (bound === name) return { kind: "parameter", text: name };
    }
    return undefined;
  }

  private ofCall(call: Node, at: Span, depth: number): Origin | undefined {
    const py = this.py;
    const callee = call.childForFieldName("function");
    if (!callee) return undefined;
    const method = methodName(call);
    const name = calleeName(py, call);
    if (method && SAFE_METHODS.has(method)) return undefined;
    if (name && SAFE_FUNCTIONS.test(name)) return undefined;
    if (name === "torch.nn.Parameter") return { kind: "parameter", text: call.text };
    if (name && TENSOR_FACTORIES.test(name)) {
      const rg = keyword(call, "requires_grad");
      return rg && boolValue(rg) === true ? { kind: "leaf", text: call.text } : undefined;
    }
    if (isModelCallee(py, callee, at)) return { kind: "output", text: callee.text };
    const calleeText = callee.text.replace(/\s+/g, "");
    const isLoss = /loss|criterion/i.test(calleeText.slice(calleeText.lastIndexOf(".") + 1));
    if (isLoss || (name && TORCH_FUNCTIONS.test(name))) {
      // A loss or torch op keeps the graph of whichever input has one.
      for (const a of positional(call)) {
        const items = a.type === "list" || a.type === "tuple" ? a.namedChildren : [a];
        for (const item of items) {
          const o = this.origin(item, at, depth + 1);
          if (o) return isLoss ? { kind: "loss", text: calleeText } : o;
        }
      }
      return undefined;
    }
    if (method && GRAPH_METHODS.has(method)) return this.origin(receiverOf(call), at, depth + 1);
    return undefined;
  }
}

// Methods that keep a tensor on the device it is on (everything but moves and Python values).
const STAYS_ON_DEVICE = new Set(
  [...GRAPH_METHODS, ...SAFE_METHODS, "cuda"].filter((m) => !/^(cpu|to|numpy|item|tolist)$/.test(m)),
);

/** Where a value was put on the GPU (the line of the `.cuda()`/`.to(device)`), when it was. */
class GpuTracer {
  private readonly seen = new Set<number>();

  constructor(private readonly py: PythonModel) {}

  /** `"cuda"`, `"cuda" if torch.cuda.is_available() else "cpu"`, `torch.device(...)` of one, or a name bound to one. */
  private cudaDevice(node: Node | undefined, at: Span, depth: number): boolean {
    if (!node || depth > 6) return false;
    if (isCudaString(node)) return true;
    if (node.type === "conditional_expression")
      return node.namedChildren.some((c) => c !== null && isCudaString(c));
    if (node.type === "call" && calleeName(this.py, node) === "torch.device")
      return this.cudaDevice(positional(node)[0], at, depth + 1);
    if (node.type !== "identifier") return false;
    const b = bindingOf(this.py, node.text, at);
    return b?.value !== undefined && this.cudaDevice(b.value, b, depth + 1);
  }

  placed(node: Node | null | undefined, at: Span, depth = 0): number | undefined {
    if (!node || depth > 12) return undefined;
    switch (node.type) {
      case "parenthesized_expression":
        return this.placed(node.namedChildren[0], at, depth + 1);
      case "subscript":
        return this.placed(node.childForFieldName("value"), at, depth + 1);
      case "binary_operator":
        return (
          this.placed(node.childForFieldName("left"), at, depth + 1) ??
          this.placed(node.childForFieldName("right"), at, depth + 1)
        );
      case "attribute": {
        const attr = node.childForFieldName("attribute")?.text ?? "";
        return OUTPUT_FIELDS.has(attr)
          ? this.placed(node.childForFieldName("object"), at, depth + 1)
          : undefined;
      }
      case "identifier": {
        const b = bindingOf(this.py, node.text, at);
        if (!b?.value || this.seen.has(b.start)) return undefined;
        this.seen.add(b.start);
        return this.placed(b.value, b, depth + 1);
      }
      case "call":
        return this.ofCall(node, at, depth);
      default:
        return undefined;
    }
  }

  private ofCall(call: Node, at: Span, depth: number): number | undefined {
    const method = methodName(call);
    const line = call.startPosition.row + 1;
    if (method === "cuda") return line;
    if (method === "to") {
      const target = keyword(call, "device") ?? positional(call)[0];
      if (this.cudaDevice(target, at, depth)) return line;
      // `.to(other)` or `.to(torch.float16)`: the device is unchanged or unknown.
      return target && !/^torch\.(float|half|bfloat|double|int|long|bool|uint)/.test(target.text)
        ? undefined
        : this.placed(receiverOf(call), at, depth + 1);
    }
    if (method && STAYS_ON_DEVICE.has(method)) return this.placed(receiverOf(call), at, depth + 1);
    const callee = call.childForFieldName("function");
    const name = calleeName(this.py, call);
    const device = keyword(call, "device");
    if (name && TENSOR_FACTORIES.test(name)) return this.cudaDevice(device, at, depth) ? line : undefined;
    // A model or torch op returns its result on the device of its inputs.
    if ((callee && isModelCallee(this.py, callee, at)) || (name && TORCH_FUNCTIONS.test(name))) {
      for (const a of positional(call)) {
        const p = this.placed(a, at, depth + 1);
        if (p) return p;
      }
    }
    return undefined;
  }
}

const WHAT: Record<Origin["kind"], (t: string, shown?: string) => string> = {
  output: (t) => `comes from a forward pass (\`${t}(...)\`), so it is part of the autograd graph`,
  loss: (t) => `is a loss (\`${t}(...)\`) that is part of the autograd graph`,
  // No "(`p`)" when the parameter is the very name being converted.
  parameter: (t, shown) => `is a model parameter${t === shown ? "" : ` (\`${t}\`)`}, which requires grad`,
  leaf: () => "was created with `requires_grad=True`",
};

export default defineCheck((ctx) => {
  const { py } = ctx;
  const conversions = py
    .methodCalls("numpy")
    .filter((c) => c.receiver && c.args.length === 0 && c.keywords.size === 0);
  const arrays = py.callsTo("numpy.array", "numpy.asarray");
  if (conversions.length === 0 && arrays.length === 0) return;
  // Eager TensorFlow/JAX tensors convert with `.numpy()` legitimately.
  if (py.importsModule("tensorflow", "keras", "jax")) return;
  // Frozen models produce outputs without a graph; which ones is beyond a per-file look.
  if (/requires_grad_\(\s*False\s*\)|\.requires_grad\s*=\s*False/.test(ctx.text)) return;

  // A helper (or a method called as `self.helper(...)`) whose every caller in this file runs it
  // with gradients off.
  const calledWithoutGrad = (at: Span): boolean => {
    const fn = py.functionAt(at);
    if (!fn) return false;
    // For a method, any call by that name counts (`self.predict(x)`, `trainer.predict(x)`).
    const callers = py.calls.filter(
      (c) => (c.method ?? c.name) === fn.name && !(fn.start <= c.start && c.end <= fn.end),
    );
    return callers.length > 0 && callers.every((c) => gradDisabledAt(py, c));
  };

  /**
   * Inside `no_grad` only a tensor computed before the block can still require grad: the name the
   * conversion starts from (`loss` in `loss.cpu().numpy()`) must be bound with gradients on, as in
   * `loss.backward()` followed by `with torch.no_grad(): losses.append(loss.cpu().numpy())`.
   */
  const boundWithGrad = (node: Node, at: Span): boolean => {
    let n: Node | null | undefined = node;
    while (n?.type === "call" && GRAPH_CHAIN.has(methodName(n) ?? "")) n = receiverOf(n);
    if (n?.type !== "identifier") return false;
    const b = bindingOf(py, n.text, at);
    return b !== undefined && !gradDisabledAt(py, b);
  };
  const skipped = (at: Span, value: Node) =>
    calledWithoutGrad(at) || (gradDisabledAt(py, at) && !boundWithGrad(value, at));

  const cuda = usesCuda(py);
  /** A CPU-only conversion of a tensor that may be on the GPU, reported when no graph is involved. */
  const reportGpu = (call: CallSite, value: Node, spelling: string): boolean => {
    const where = cuda ? new GpuTracer(py).placed(value, call) : undefined;
    if (!where) return false;
    const shown = value.text.length > 40 ? "This tensor" : `\`${value.text}\``;
    ctx.report(call.callee.childForFieldName("attribute") ?? call, {
      message:
        `${shown} may be on the GPU (it is placed there on line ${where}), and \`${spelling}\` only reads CPU memory: ` +
        'on CUDA it raises "can\'t convert cuda:0 device type tensor to numpy". Move it first with `.cpu()` (`t.cpu().numpy()`).',
      fix:
        spelling === ".numpy()"
          ? {
              description: "move to the CPU before converting",
              edits: [{ at: value, text: `${value.text}.cpu()` }],
            }
          : undefined,
    });
    return true;
  };

  for (const call of conversions) {
    const recv = call.receiver!;
    const inGraph = !skipped(call, recv);
    const origin = inGraph ? new Tracer(py).origin(recv, call) : undefined;
    if (!origin) {
      reportGpu(call, recv, ".numpy()");
      continue;
    }
    // `x.cpu().numpy()` gets `.detach()` before the `.cpu()`; anything else gets both.
    const cpuCall = recv.type === "call" && methodName(recv) === "cpu" && positional(recv).length === 0;
    const base = cpuCall ? receiverOf(recv) : recv;
    const fix = base
      ? {
          description: "detach (and move to the CPU) before converting",
          edits: [{ at: base, text: `${base.text}.detach()${cpuCall ? "" : ".cpu()"}` }],
        }
      : undefined;
    const shown = (base ?? recv).text.length > 40 ? "this tensor" : (base ?? recv).text;
    ctx.report(call.callee.childForFieldName("attribute") ?? call, {
      message: gradDisabledAt(py, call)
        ? `\`${shown}\` ${WHAT[origin.kind](origin.text, shown)}, and it was computed before this \`no_grad\` block, so it still requires grad: ` +
          `\`.numpy()\` on it raises "Can't call numpy() on Tensor that requires grad" even here. Use \`.detach().cpu().numpy()\` (or \`.item()\` for a scalar).`
        : `\`${shown}\` ${WHAT[origin.kind](origin.text, shown)}${origin.via ? ` (passed in on line ${origin.via})` : ""}: \`.numpy()\` on it raises "Can't call numpy() on Tensor that requires grad"` +
          // With `.cpu()` already in the chain only the missing `.detach()` is the problem.
          (cpuCall
            ? ". Detach it before moving it: `.detach().cpu().numpy()`, or compute it under `torch.no_grad()`."
            : " (and fails for a CUDA tensor). Use `.detach().cpu().numpy()`, or compute it under `torch.no_grad()`."),
      fix,
    });
  }
  for (const call of arrays) {
    const arg = call.args[0];
    if (!arg) continue;
    const origin = skipped(call, arg) ? undefined : new Tracer(py).origin(arg, call);
    if (!origin) {
      reportGpu(call, arg, `${call.callee.text}(...)`);
      continue;
    }
    if (origin.appended) {
      ctx.report(call, {
        message:
          `\`${arg.text}\` holds tensors appended on line ${origin.appended}, and each ${WHAT[origin.kind](origin.text)}: \`${call.callee.text}\` on the list raises "Can't call numpy() on Tensor that requires grad" ` +
          "(and fails for CUDA tensors). Append `loss.item()` for scalars, or `t.detach().cpu()` for tensors.",
      });
      continue;
    }
    ctx.report(call, {
      message:
        `\`${arg.text.length > 40 ? "This tensor" : arg.text}\` ${WHAT[origin.kind](origin.text, arg.text)}: \`${call.callee.text}\` on it raises "Can't call numpy() on Tensor that requires grad" ` +
        `(and fails for a CUDA tensor). Convert with \`${arg.text.length > 40 ? "t" : arg.text}.detach().cpu().numpy()\`.`,
    });
  }
});
