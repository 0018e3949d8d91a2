import type { Node } from "web-tree-sitter";
import { anyNameMatches } from "../../src/engine/names.js";
import type { ClassDef, PythonModel, Span } from "../../src/engine/python/model.js";
import { spanOf } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import {
  asCall,
  bindingOf,
  calleeName,
  constructionOf,
  lastLayer,
  methodName,
  moduleClasses,
  onTriggerLine,
  positional,
  receiverOf,
} from "./_tensors.js";

type Kind = "prob" | "logprob" | "logits";
/** What an expression holds, and the node that decided it (a sigmoid call, a layer). */
interface Output {
  kind: Kind;
  op: string;
  where: Node;
  /** Decided by the variable's name only. */
  named?: boolean;
}
type Expects = "logits" | "prob" | "logprob";

const LOSS_CLASSES = new Map<string, Expects>([
  ["torch.nn.BCEWithLogitsLoss", "logits"],
  ["torch.nn.CrossEntropyLoss", "logits"],
  ["torch.nn.BCELoss", "prob"],
  ["torch.nn.NLLLoss", "logprob"],
]);
const LOSS_FUNCTIONS = new Map<string, Expects>([
  ["torch.nn.functional.binary_cross_entropy_with_logits", "logits"],
  ["torch.nn.functional.cross_entropy", "logits"],
  ["torch.nn.functional.binary_cross_entropy", "prob"],
  ["torch.nn.functional.nll_loss", "logprob"],
]);
const PROB_FUNCTIONS = new Map<string, string>([
  ["torch.sigmoid", "sigmoid"],
  ["torch.nn.functional.sigmoid", "sigmoid"],
  ["torch.special.expit", "sigmoid"],
  ["torch.softmax", "softmax"],
  ["torch.nn.functional.softmax", "softmax"],
  ["torch.special.softmax", "softmax"],
]);
const LOGPROB_FUNCTIONS = [
  "torch.log_softmax",
  "torch.nn.functional.log_softmax",
  "torch.special.log_softmax",
];
const LAYER_KINDS = new Map<string, Kind>([
  ["torch.nn.Sigmoid", "prob"],
  ["torch.nn.Softmax", "prob"],
  ["torch.nn.LogSoftmax", "logprob"],
  ["torch.nn.Linear", "logits"],
  ["torch.nn.Bilinear", "logits"],
  ["torch.nn.LazyLinear", "logits"],
]);
// Shape and dtype changes: the values, and so a name describing them, stay what they were.
const SHAPE_METHODS = [
  "squeeze",
  "unsqueeze",
  "view",
  "reshape",
  "flatten",
  "float",
  "double",
  "to",
  "contiguous",
];
// ... and clamping, which keeps what the values mean (not what a name says).
const PASS_METHODS = new Set([...SHAPE_METHODS, "clamp", "clip"]);
const PASS_FUNCTIONS = ["torch.squeeze", "torch.flatten", "torch.clamp", "torch.clip"];
const MODULE_CHAIN = new Set(["to", "cuda", "cpu", "eval", "train", "float", "half", "double"]);

class Classifier {
  private readonly modules: ClassDef[];
  private readonly active = new Set<number>();

  constructor(private readonly py: PythonModel) {
    this.modules = moduleClasses(py);
  }

  of(node: Node | null | undefined, at: Span, depth = 0): Output | undefined {
    if (!node || depth > 10) return undefined;
    switch (node.type) {
      case "parenthesized_expression":
        return this.of(node.namedChildren[0], at, depth + 1);
      case "subscript":
        return this.of(node.childForFieldName("value"), at, depth + 1);
      case "identifier":
      case "attribute": {
        const b = bindingOf(this.py, node.text.replace(/\s+/g, ""), at);
        if (!b && node.type === "identifier") return this.ofParameter(node.text, at, depth);
        if (!b?.value || this.active.has(b.start)) return undefined;
        this.active.add(b.start);
        try {
          return this.of(b.value, b, depth + 1);
        } finally {
          this.active.delete(b.start);
        }
      }
      case "call":
        return this.ofCall(node, at, depth);
      default:
        return undefined;
    }
  }

  private ofCall(call: Node, at: Span, depth: number): Output | undefined {
    const py = this.py;
    const name = calleeName(py, call);
    const method = methodName(call);
    const prob = name ? PROB_FUNCTIONS.get(name) : undefined;
    if (prob) return { kind: "prob", op: prob, where: call };
    if (name && anyNameMatches(name, LOGPROB_FUNCTIONS))
      return { kind: "logprob", op: "log_softmax", where: call };
    if (name === "torch.log" || method === "log") {
      const inner = this.of(name === "torch.log" ? positional(call)[0] : receiverOf(call), at, depth + 1);
      return inner?.kind === "prob" ? { kind: "logprob", op: `log(${inner.op})`, where: call } : undefined;
    }
    if (name && anyNameMatches(name, PASS_FUNCTIONS)) return this.of(positional(call)[0], at, depth + 1);
    // `self.sigmoid(x)` is a module attribute, looked up below; `x.sigmoid()` is the tensor method.
    const onSelf = receiverOf(call)?.text === "self";
    if (method && !onSelf && !name?.startsWith("torch.")) {
      if (method === "sigmoid" || method === "softmax") return { kind: "prob", op: method, where: call };
      if (method === "log_softmax") return { kind: "logprob", op: method, where: call };
      if (PASS_METHODS.has(method)) return this.of(receiverOf(call), at, depth + 1);
    }
    const callee = call.childForFieldName("function");
    if (!callee) return undefined;
    // `nn.Sigmoid()(x)`
    const inlineCtor = asCall(callee);
    if (inlineCtor) return this.ofLayer(inlineCtor);
    const text = callee.text.replace(/\s+/g, "");
    if (text === "self") {
      const cls = py.classAt(at);
      return cls ? this.ofForward(cls) : undefined;
    }
    let ctor = constructionOf(py, text, at);
    for (let hops = 0; ctor && hops < 4 && MODULE_CHAIN.has(methodName(ctor) ?? ""); hops++)
      ctor = asCall(receiverOf(ctor));
    return ctor ? this.ofLayer(ctor) : undefined;
  }

  /** A helper's parameter (`def loss_fn(pred, y): return criterion(pred, y)`): what its callers pass, when they agree. */
  private ofParameter(name: string, at: Span, depth: number): Output | undefined {
    const py = this.py;
    const fn = py.functionAt(at);
    if (!fn || fn.isMethod || this.active.has(fn.start)) return undefined;
    const index = fn.params.findIndex((p) => p.name === name && !p.variadic);
    if (index < 0) return undefined;
    this.active.add(fn.start);
    try {
      let out: Output | undefined;
      for (const call of py.calls) {
        if (call.name !== fn.name || call.callee.type !== "identifier") continue;
        const arg = call.arg(name, index);
        const o = arg ? this.of(arg, call, depth + 1) : undefined;
        if (!o) continue;
        if (out && out.kind !== o.kind) return undefined;
        out ??= o;
      }
      return out;
    } finally {
      this.active.delete(fn.start);
    }
  }

  /** What a module built by `ctor` returns: a known layer, the last layer of a Sequential, or a local class's forward. */
  private ofLayer(ctor: Node): Output | undefined {
    const py = this.py;
    const layer = lastLayer(py, ctor);
    if (!layer) return undefined;
    const name = calleeName(py, layer);
    if (!name) return undefined;
    const kind = LAYER_KINDS.get(name);
    if (kind) return { kind, op: `nn.${name.split(".").pop()}`, where: layer };
    const cls = this.modules.find((c) => c.name === name);
    return cls ? this.ofForward(cls) : undefined;
  }

  /** What a local module's `forward` returns, when every top-level return agrees. */
  private ofForward(cls: ClassDef): Output | undefined {
    const forward = cls.method("forward");
    if (!forward || this.active.has(forward.start)) return undefined;
    this.active.add(forward.start);
    try {
      // Every return of `forward` itself, nested ones included: `if self.training: return x` before
      // `return F.softmax(x, dim=1)` means training sees logits.
      const returns = forward.body
        .descendantsOfType("return_statement")
        .filter((s): s is Node => s !== null && this.py.functionAt(spanOf(s)) === forward);
      let out: Output | undefined;
      for (const r of returns) {
        const o = this.of(r.namedChildren[0], spanOf(r));
        if (!o || (out && out.kind !== o.kind)) return undefined;
        out ??= o;
      }
      return out;
    } finally {
      this.active.delete(forward.start);
    }
  }
}

interface LossCall {
  call: Node;
  expects: Expects;
  loss: string;
  /** The criterion's construction, when the loss is called through an instance. */
  ctor?: Node;
}

function lossCalls(py: PythonModel): LossCall[] {
  const out: LossCall[] = [];
  const instances = new Set<string>();
  for (const a of py.assignments) {
    const ctor = asCall(a.value);
    const name = ctor ? calleeName(py, ctor) : undefined;
    if (a.op === "=" && a.targets.length === 1 && name && LOSS_CLASSES.has(name)) instances.add(a.targets[0]);
  }
  for (const c of py.calls) {
    const fn = c.name ? LOSS_FUNCTIONS.get(c.name) : undefined;
    if (fn) {
      out.push({ call: c.node, expects: fn, loss: `F.${c.name!.split(".").pop()}` });
      continue;
    }
    let ctor: Node | undefined;
    if (c.callee.type === "call") ctor = c.callee;
    else if (c.name && instances.has(c.name)) ctor = constructionOf(py, c.name, c);
    const ctorName = ctor ? calleeName(py, ctor) : undefined;
    const expects = ctorName ? LOSS_CLASSES.get(ctorName) : undefined;
    if (!ctor || !ctorName || !expects) continue;
    out.push({ call: c.node, expects, loss: ctorName.split(".").pop()!, ctor });
  }
  return out;
}

// Names that say what a tensor holds, for inputs whose origin is not visible (function parameters).
const NAMED: [RegExp, Kind][] = [
  [/^(log_?probs?|logp|log_likelihoods?)$|_log_?probs?$/i, "logprob"],
  [/^logits?$|_logits?$|^logits?_/i, "logits"],
  [/^(probs?|probas?|probabilities|y_prob|y_proba)$|_probs?$|_probas?$|^probs?_/i, "prob"],
];
const NAME_PASS = new Set(SHAPE_METHODS);

/** What the input's name says it holds: `logits.squeeze(1)` → logits. */
function namedKind(node: Node): Output | undefined {
  let n: Node | null | undefined = node;
  while (n && (n.type === "call" || n.type === "subscript" || n.type === "parenthesized_expression")) {
    if (n.type === "call") {
      if (!NAME_PASS.has(methodName(n) ?? "")) return undefined;
      n = receiverOf(n);
    } else n = n.type === "subscript" ? n.childForFieldName("value") : n.namedChildren[0];
  }
  if (n?.type !== "identifier") return undefined;
  const hit = NAMED.find(([re]) => re.test(n.text));
  return hit ? { kind: hit[1], op: n.text, where: node, named: true } : undefined;
}

/** Where the input came from, for the message. */
function origin(got: Output): string {
  const line = got.where.startPosition.row + 1;
  if (got.named) return `a tensor named \`${got.op}\``;
  return `\`${got.op}\` (line ${line})`;
}

function message(loss: LossCall, got: Output): string | undefined {
  const src = origin(got);
  if (loss.expects === "logits" && got.kind === "prob") {
    const inner = loss.loss.startsWith("BCE") || loss.loss.includes("binary") ? "a sigmoid" : "log_softmax";
    return (
      `\`${loss.loss}\` expects raw logits and applies ${inner} itself, but this input ${got.named ? `is ${src}, which holds probabilities` : `has already been through ${src}`}. ` +
      "Squashing twice flattens the loss, shrinks the gradients and stalls training. Pass the raw logits and apply " +
      "the activation only when you need probabilities for prediction."
    );
  }
  if (loss.expects === "prob" && got.kind === "logits") {
    return (
      `\`${loss.loss}\` expects probabilities in [0, 1], but this input is ${got.named ? `${src}, raw scores` : `the raw output of ${src}`} with no sigmoid. ` +
      "Values outside [0, 1] make it raise (a device-side assert on CUDA). Use `BCEWithLogitsLoss` on the raw output, which is also numerically stabler, or add a sigmoid."
    );
  }
  if (loss.expects === "logprob" && (got.kind === "logits" || got.kind === "prob")) {
    const what = got.kind === "logits" ? "raw logits" : "probabilities";
    return (
      `\`${loss.loss}\` expects log-probabilities (the output of \`log_softmax\`), but this input is ${what}, from ${src}. ` +
      "It only picks `-input[target]`, so this is not a likelihood and training optimises the wrong objective. " +
      "Apply `log_softmax(dim=1)` (or `nn.LogSoftmax`) first, or use `CrossEntropyLoss` on the raw logits."
    );
  }
  return undefined;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const losses = lossCalls(py);
  if (losses.length === 0) return;
  const classifier = new Classifier(py);
  for (const loss of losses) {
    const call = py.calls.find((c) => c.node.id === loss.call.id);
    const input = call?.arg("input", 0);
    if (!call || !input) continue;
    const got = classifier.of(input, call) ?? namedKind(input);
    if (!got) continue;
    // Log-probabilities are often named `logits` (Lightning's MNIST example feeds `logits` from a
    // `log_softmax` forward to `F.nll_loss`): for NLL the name alone decides nothing.
    if (got.named && got.kind === "logits" && loss.expects === "logprob") continue;
    const text = message(loss, got);
    if (!text) continue;
    // Comment where the change is: the loss call, the activation/layer, or the criterion.
    const candidates = [loss.call, got.where, loss.ctor].filter((n): n is Node => n !== undefined);
    const lineOf = (n: Node) => n.startPosition.row + 1;
    const site =
      candidates.find((n) => ctx.isAdded(lineOf(n)) && onTriggerLine(ctx, lineOf(n))) ??
      candidates.find((n) => onTriggerLine(ctx, lineOf(n)));
    if (site) ctx.report(site, { message: text });
  }
});
