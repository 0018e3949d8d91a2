import type { Node } from "web-tree-sitter";
import { anyNameMatches } from "../../src/engine/names.js";
import { assignmentOf, constructorOf, followNames, rootName } from "../../src/engine/python/flow.js";
import { lightningCallbacks, lightningModules, subclassesOf } from "../../src/engine/python/frameworks.js";
import { boolValue, dotted, isTestPath } from "../../src/engine/python/helpers.js";
import type {
  Assignment,
  CallSite,
  ClassDef,
  FunctionDef,
  Loop,
  PythonModel,
  Span,
} from "../../src/engine/python/model.js";

// Training-loop structure shared by the pytorch loop rules: which calls are backward passes,
// optimiser steps, gradient resets and model forwards; which loops train; which code is an
// inference pass; and what mode / grad state holds at a point, following local helper calls.

// ---- names ------------------------------------------------------------------------------------

const OPTIMIZER_CLASSES = [
  "torch.optim.*",
  "torch.optim.*.*",
  "transformers.AdamW",
  "transformers.Adafactor",
  "transformers.optimization.*",
  "bitsandbytes.optim.*",
  "timm.optim.*",
  "apex.optimizers.*",
];
const SCHEDULER_CLASSES = [
  "torch.optim.lr_scheduler.*",
  "transformers.get_*",
  "transformers.optimization.get_*",
];

/** A constructor name that builds an optimiser (and not a learning-rate scheduler). */
export function isOptimizerClass(name: string | undefined): boolean {
  if (!name || anyNameMatches(name, SCHEDULER_CLASSES)) return false;
  const last = name.split(".").pop() ?? "";
  return /^[A-Z]/.test(last) && anyNameMatches(name, OPTIMIZER_CLASSES) && !/Scheduler|LR$|Warmup/.test(last);
}

const OPT_NAME =
  /(^|[._])(opt|optim|optimizer|optimiser|optimizers)(\d*|_\w+)?$|^(opt|optimizer|optimiser)_?[a-z]\w*$/i;
const NOT_OPT_NAME = /sched|lr_|warmup/i;
const SCALER_CLASSES = [
  "torch.cuda.amp.GradScaler",
  "torch.amp.GradScaler",
  "torch.amp.grad_scaler.GradScaler",
];

function compact(node: Node | undefined): string | undefined {
  return node?.text.replace(/\s+/g, "");
}

/** The optimiser a `.step()` call updates, as text (`opt` for `opt.step()` and `scaler.step(opt)`). */
function optimizerSteppedUncached(py: PythonModel, call: CallSite): string | undefined {
  if (call.method !== "step") return undefined;
  const recv = compact(call.receiver);
  if (!recv) return undefined;
  // Built in this function, or (module-level, `self.opt`) somewhere the call can see.
  const ctor = constructorOf(py, call.receiver, call) ?? producers(py, recv, call)[0];
  if (/scaler$/i.test(recv) || (ctor && anyNameMatches(ctor, SCALER_CLASSES))) {
    return compact(call.args[0] ?? call.keywords.get("optimizer"));
  }
  if (ctor) return isOptimizerClass(ctor) ? recv : undefined;
  return OPT_NAME.test(recv) && !NOT_OPT_NAME.test(recv) ? recv : undefined;
}

/** `loss.backward()`, `scaler.scale(loss).backward()`, `accelerator.backward(loss)`, `torch.autograd.backward`. */
function isBackwardUncached(call: CallSite): boolean {
  if (call.method !== "backward") return false;
  if (call.is("torch.autograd.backward")) return true;
  const recv = compact(call.receiver);
  return recv !== undefined && recv !== "self" && recv !== "super()";
}

// `zero_grad`, and helpers named for it (`zero_grads(model)`, `reset_grad()`, `clear_grads()`).
const ZEROING_HELPER = /zero_?grad|clear_?grad|reset_?grad/i;

/** Calls that reset gradients: `zero_grad(...)` on anything, `p.grad.zero_()`, `p.grad.fill_(0)`. */
export function isZeroing(call: CallSite): boolean {
  if (call.method !== undefined && ZEROING_HELPER.test(call.method)) return true;
  return (
    (call.method === "zero_" || call.method === "fill_") &&
    /\.grad(\.data)?$/.test(compact(call.receiver) ?? "")
  );
}

/** `p.grad = None` and friends. */
export function zeroingAssignments(py: PythonModel, scope: Span | Node): Span[] {
  return py
    .assignmentsIn(scope)
    .filter((a) => a.op === "=" && a.targets.some((t) => /\.grad$/.test(t)) && a.value?.type === "none");
}

// ---- model objects ----------------------------------------------------------------------------

const MODEL_WORDS = new Set([
  "model",
  "models",
  "net",
  "network",
  "classifier",
  "encoder",
  "decoder",
  "backbone",
  "generator",
  "discriminator",
  "unet",
  "vae",
  "autoencoder",
  "cnn",
  "rnn",
  "lstm",
  "gru",
  "mlp",
  "resnet",
  "transformer",
  "module",
]);
const NOT_MODEL_WORDS = new Set([
  "fn",
  "func",
  "function",
  "name",
  "names",
  "path",
  "dir",
  "cls",
  "class",
  "type",
  "config",
  "cfg",
  "args",
  "kwargs",
  "factory",
  "builder",
  "file",
  "id",
  "url",
  "str",
  "output",
  "outputs",
  "loss",
  "params",
  "state",
  "dict",
  "list",
  "registry",
]);

function words(identifier: string): string[] {
  return identifier
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .split(/_+/)
    .filter(Boolean);
}

/** An identifier that names a network: `model`, `net_g`, `self.encoder`, `base_model`, `netD`. */
export function looksLikeModel(identifier: string): boolean {
  const ws = words(identifier).map((w) => w.replace(/\d+$/, ""));
  return ws.some((w) => MODEL_WORDS.has(w)) && !ws.some((w) => NOT_MODEL_WORDS.has(w));
}

/**
 * The object an expression denotes, for matching `model.eval()` with `model(x)`: the root name, or
 * `self.<attr>` for attributes of `self`. Calls and subscripts on the way are looked through
 * (`model.to(device).eval()` → `model`).
 */
export function objectKey(node: Node | undefined | null): string | undefined {
  let n: Node | undefined | null = node;
  while (n && (n.type === "call" || n.type === "parenthesized_expression" || n.type === "subscript")) {
    if (n.type === "call") {
      const f = n.childForFieldName("function");
      n = f?.type === "attribute" ? f.childForFieldName("object") : undefined;
    } else if (n.type === "subscript") n = n.childForFieldName("value");
    else n = n.namedChildren[0];
  }
  const text = dotted(n);
  if (!text) return undefined;
  const segs = text.split(".");
  return segs[0] === "self" && segs.length > 1 ? `self.${segs[1]}` : segs[0];
}

const MODULE_SOURCES = ["torch.nn.*", "torchvision.models.**", "timm.create_model", "torch.hub.load"];
// Producers of callables that are not PyTorch modules at all (pipelines manage mode and gradients
// themselves).
const NOT_MODULES = [
  "**.pipeline",
  "onnxruntime.**",
  "joblib.load",
  "pickle.load",
  "sklearn.**",
  "keras.**",
  "keras_core.**",
  "tensorflow.**",
  "jax.**",
  "flax.**",
];
// Loaders that hand back a module already in eval mode: Hugging Face `from_pretrained` calls
// `model.eval()`, and compiled artefacts keep the mode they were saved in.
const LOADED_IN_EVAL = [
  "**.from_pretrained",
  "torch.jit.load",
  "torch.jit.trace",
  "torch.jit.script",
  "torch.export.*",
];

/** True when the network `key` comes from a loader that returns it in eval mode. */
export function loadedInEval(py: PythonModel, key: string, at: Span): boolean {
  return producers(py, key, at).some((p) => anyNameMatches(p, LOADED_IN_EVAL));
}
const MODULE_METHODS = new Set([
  "eval",
  "train",
  "parameters",
  "named_parameters",
  "load_state_dict",
  "requires_grad_",
]);

interface ModelIndex {
  /** Full dotted texts used as modules somewhere in the file (`model`, `self.encoder`). */
  known: Set<string>;
  /** Local classes deriving from `torch.nn.Module`. */
  moduleClasses: Set<string>;
}

const indexes = new WeakMap<PythonModel, ModelIndex>();

function modelIndex(py: PythonModel): ModelIndex {
  let idx = indexes.get(py);
  if (!idx) {
    const known = new Set<string>();
    for (const c of py.calls) {
      if (c.method && MODULE_METHODS.has(c.method)) {
        const t = dotted(c.receiver);
        if (t && t !== "self") known.add(t);
      }
    }
    const moduleClasses = new Set(
      subclassesOf(py, ["torch.nn.Module", "torch.nn.modules.**"]).map((c) => c.name),
    );
    idx = { known, moduleClasses };
    indexes.set(py, idx);
  }
  return idx;
}

/**
 * When `call` runs a network forward (`model(x)`, `self.net(x)`, `model.forward(x)`), the key of
 * that network; undefined for anything else (methods such as `model.predict`, `self(x)`).
 */
// Methods that run the network's forward pass when called by hand (outside a Lightning Trainer).
const FORWARD_METHODS = new Set(["forward", "validation_step", "test_step", "predict_step"]);

function modelCallKeyUncached(py: PythonModel, call: CallSite): string | undefined {
  // `import model` then `model = model.RNNModel(...)`: the later binding shadows the import.
  if (call.imported && !rebound(py, call.callee.text.split(".")[0])) return undefined;
  // `model(x, training=False)`: Keras-style layers take their mode per call.
  if (call.keywords.has("training")) return undefined;
  const callee = call.callee;
  let target: Node | null = callee;
  if (callee.type === "attribute" && FORWARD_METHODS.has(callee.childForFieldName("attribute")?.text ?? "")) {
    target = callee.childForFieldName("object");
  }
  const text = dotted(target);
  if (!text || text === "self") return undefined;
  const last = text.split(".").pop()!;
  // `ResNet()`, `nn.Linear(...)`: CapWords calls build modules, they do not run them.
  if (/^[A-Z]\w*[a-z]/.test(last) || py.classes.some((c) => c.name === last)) return undefined;
  const idx = modelIndex(py);
  const named = looksLikeModel(last) || idx.known.has(text);
  if (!named && text.includes(".") && !text.startsWith("self.")) return undefined;
  const made = producers(py, text, call);
  if (made.some((p) => anyNameMatches(p, NOT_MODULES))) return undefined;
  // Loss modules (`criterion = nn.CrossEntropyLoss()`) are modules but not networks.
  if (made.some((p) => /Loss$/.test(p))) return undefined;
  const isModule = named || made.some((p) => idx.moduleClasses.has(p) || anyNameMatches(p, MODULE_SOURCES));
  return isModule ? objectKey(target) : undefined;
}

function rebound(py: PythonModel, name: string): boolean {
  return py.assignments.some((a) => a.op === "=" && a.targets.includes(name));
}

const producerCache = new WeakMap<
  PythonModel,
  { byTarget: Map<string, Assignment[]>; seen: Map<string, string[]> }
>();

/**
 * Constructors of every value assigned to `text` that can reach `at`: in its function, at module
 * level, and for `self.x` in any method of the enclosing class.
 */
export function producers(py: PythonModel, text: string, at: Span): string[] {
  const fn = py.functionAt(at);
  const cls = text.startsWith("self.") ? py.classAt(at) : undefined;
  let cache = producerCache.get(py);
  if (!cache) {
    const byTarget = new Map<string, Assignment[]>();
    for (const a of py.assignments) {
      if (a.op !== "=" || a.targets.length !== 1) continue;
      const list = byTarget.get(a.targets[0]);
      if (list) list.push(a);
      else byTarget.set(a.targets[0], [a]);
    }
    cache = { byTarget, seen: new Map() };
    producerCache.set(py, cache);
  }
  const cacheKey = `${text}@${cls?.start ?? fn?.start ?? -1}`;
  const hit = cache.seen.get(cacheKey);
  if (hit) return hit;
  const out: string[] = [];
  cache.seen.set(cacheKey, out);
  // A parameter of the function shadows a module-level binding of the same name.
  const shadowed = fn?.params.some((p) => p.name === text) ?? false;
  for (const a of cache.byTarget.get(text) ?? []) {
    const home = py.functionAt(a);
    const reaches = cls ? home?.cls === cls : home === fn || (home === undefined && !shadowed);
    let value = a.value;
    if (!reaches || value?.type !== "call") continue;
    // `AutoModel.from_pretrained(name).to(device)`: the constructor is the innermost call.
    for (let f = value.childForFieldName("function"); f?.type === "attribute"; ) {
      const obj = f.childForFieldName("object");
      if (obj?.type !== "call") break;
      value = obj;
      f = obj.childForFieldName("function");
    }
    const name = py.resolve(value.childForFieldName("function") ?? value);
    if (name) out.push(name);
  }
  return out;
}

// ---- scopes and local helpers -----------------------------------------------------------------

/** Calls directly in `scope` (a loop, block or function), leaving out nested definitions. */
export function directCalls(py: PythonModel, scope: Span | Node): CallSite[] {
  const start = "startIndex" in scope ? scope.startIndex : scope.start;
  const end = "endIndex" in scope ? scope.endIndex : scope.end;
  let cache = scopeCache.get(py);
  if (!cache) {
    cache = new Map();
    scopeCache.set(py, cache);
  }
  const key = `${start}:${end}`;
  const hit = cache.get(key);
  if (hit) return hit;
  // Rules ask this for many loops and functions of one file: a binary search over the sorted
  // call list keeps each question proportional to the scope, not the file.
  const calls = py.calls;
  let lo = 0;
  let hi = calls.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (calls[mid].start < start) lo = mid + 1;
    else hi = mid;
  }
  const nested = py.functions.filter((f) => start < f.start && f.end <= end);
  const out: CallSite[] = [];
  for (let i = lo; i < calls.length && calls[i].start < end; i++) {
    const c = calls[i];
    if (c.end <= end && !nested.some((f) => f.start <= c.start && c.end <= f.end)) out.push(c);
  }
  cache.set(key, out);
  return out;
}

const scopeCache = new WeakMap<PythonModel, Map<string, CallSite[]>>();

/** The local function(s) a call runs: `helper(...)` → `def helper`, `self.helper(...)` → the method. */
function localCalleeUncached(py: PythonModel, call: CallSite): FunctionDef | undefined {
  const callee = call.callee;
  if (callee.type === "identifier") {
    if (call.imported) return undefined;
    const name = callee.text;
    const here = py.functionAt(call);
    return (
      py.functions.find((f) => f.name === name && !f.cls && f.parentFunction === here) ??
      py.functions.find((f) => f.name === name && !f.cls && !f.parentFunction)
    );
  }
  if (callee.type === "attribute" && callee.childForFieldName("object")?.text === "self") {
    const cls = py.classAt(call);
    const name = callee.childForFieldName("attribute")?.text;
    return cls && name ? cls.method(name) : undefined;
  }
  return undefined;
}

/** Maps a helper's parameter names to the object keys the call passes for them. */
function bindings(fn: FunctionDef, call: CallSite, outer: Map<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  const params = fn.explicitParams;
  params.forEach((p, i) => {
    const arg = call.keywords.get(p.name) ?? call.args[i];
    const key = objectKey(arg);
    if (key) out.set(p.name, outer.get(key) ?? key);
  });
  return out;
}

/** Rewrites a key seen inside a helper into the caller's terms. */
export function rebind(key: string, binds: Map<string, string>): string {
  const root = key.split(".")[0];
  return binds.get(root) ?? key;
}

export interface Reached {
  call: CallSite;
  /** The key of the call's receiver, in the terms of the outermost scope. */
  receiverKey: string | undefined;
  /** The call in the outermost scope through which this one is reached (itself when direct). */
  via: CallSite;
  /** The helper's parameters, mapped to the outermost scope's object keys. */
  binds: Map<string, string>;
}

/**
 * Calls made in `scope`, and in local helpers it calls (a few levels deep), with receiver keys
 * translated through the helpers' parameters.
 */
export function reachableCalls(py: PythonModel, scope: Span | Node, depth = 3): Reached[] {
  const out: Reached[] = [];
  const visiting = new Set<FunctionDef>();
  const walk = (s: Span | Node, binds: Map<string, string>, via: CallSite | undefined, left: number) => {
    for (const call of directCalls(py, s)) {
      const recvKey = objectKey(call.receiver);
      out.push({ call, receiverKey: recvKey ? rebind(recvKey, binds) : undefined, via: via ?? call, binds });
      if (left === 0) continue;
      const fn = localCallee(py, call);
      if (!fn || visiting.has(fn)) continue;
      visiting.add(fn);
      walk(fn.body, bindings(fn, call, binds), via ?? call, left - 1);
      visiting.delete(fn);
    }
  };
  walk(scope, new Map(), undefined, depth);
  return out;
}

// ---- training loops ---------------------------------------------------------------------------

export interface TrainingLoop {
  loop: Loop;
  backward: CallSite[];
  /** Optimiser steps and the optimiser each updates. */
  steps: { call: CallSite; optimizer: string }[];
}

/** Loops whose own body (not a helper) runs backward and an optimiser step. */
export function trainingLoops(py: PythonModel): TrainingLoop[] {
  const out: TrainingLoop[] = [];
  for (const loop of py.loops) {
    const calls = directCalls(py, loop.body);
    const backward = calls.filter(isBackward);
    if (backward.length === 0) continue;
    const steps: TrainingLoop["steps"] = [];
    for (const c of calls) {
      const optimizer = optimizerStepped(py, c);
      if (optimizer) steps.push({ call: c, optimizer });
    }
    if (steps.length > 0) out.push({ loop, backward, steps });
  }
  return out;
}

/** Training loops not nested in another training loop (an epoch loop around a batch loop counts once, as the batch loop). */
export function innermostTrainingLoops(py: PythonModel): TrainingLoop[] {
  const all = trainingLoops(py);
  return all.filter(
    (t) => !all.some((o) => o !== t && o.loop.start > t.loop.start && o.loop.end <= t.loop.end),
  );
}

/** Functions that run backward and an optimiser step outside any loop of their own (a per-batch `train_step`). */
export function stepFunctions(py: PythonModel): { fn: FunctionDef; steps: TrainingLoop["steps"] }[] {
  const out: { fn: FunctionDef; steps: TrainingLoop["steps"] }[] = [];
  for (const fn of py.functions) {
    const calls = directCalls(py, fn.body).filter((c) => !py.loopsAt(c).some((l) => l.start > fn.start));
    if (!calls.some(isBackward)) continue;
    const steps: TrainingLoop["steps"] = [];
    for (const c of calls) {
      const optimizer = optimizerStepped(py, c);
      if (optimizer) steps.push({ call: c, optimizer });
    }
    if (steps.length > 0) out.push({ fn, steps });
  }
  return out;
}

const EPOCH_WORD = /epoch/i;
const LOADER_WORDS = new Set([
  "loader",
  "loaders",
  "dataloader",
  "dataloaders",
  "dl",
  "batches",
  "batch",
  "iterator",
  "iter",
  "dataset",
  "data",
  "ds",
]);

/** The iterable a `for` loop walks, seen through `enumerate`, `tqdm`, `zip`, `iter`, `islice`. */
function iterNames(loop: Loop): string[] {
  const iter = loop.iter;
  if (!iter || loop.kind !== "for") return [];
  return (iter.text.match(/[A-Za-z_]\w*/g) ?? []).filter(
    (w) => !/^(enumerate|tqdm|zip|iter|islice|range|len|self|trange|progress|desc|total|leave)$/.test(w),
  );
}

/** A loop over epochs: `for epoch in range(...)`, `for ep in trange(args.epochs)`. */
export function isEpochLoop(loop: Loop): boolean {
  const target = loop.target?.text ?? "";
  return EPOCH_WORD.test(target) || (loop.kind === "for" && /\brange\(.*epoch/i.test(loop.iter?.text ?? ""));
}

/** A loop over batches: iterates a loader-like name and is not an epoch loop. */
export function isBatchLoop(loop: Loop): boolean {
  if (loop.kind !== "for" || isEpochLoop(loop)) return false;
  return iterNames(loop).some((n) => words(n).some((w) => LOADER_WORDS.has(w) || LOADER_SUFFIX.test(w)));
}

// Names written as one word: `trainloader`, `testloader`, `valset`.
const LOADER_SUFFIX =
  /^(train|training|val|valid|test|eval|dev|data|batch)?(loader|loaders|dl)$|^(train|val|valid|test)(set|data|dataset|batches)$/;

/**
 * How often a call inside training code runs: once per batch (inside a loop over a loader, or the
 * innermost training loop of an epoch loop), once per epoch (in an epoch loop after its batch
 * loop, or at the end of a per-epoch helper such as `train_one_epoch`), or unclear. A call under
 * an `if` inside the batch loop (every N batches, at the epoch boundary) is unclear.
 */
export function runsPer(py: PythonModel, call: CallSite, depth = 0): "batch" | "epoch" | undefined {
  const fn = py.functionAt(call);
  const loops = py.loopsAt(call).filter((l) => py.functionAt(l) === fn);
  const inner = loops[0];
  const batchLoops = (within: Node) =>
    py.loops.filter(
      (l) =>
        isBatchLoop(l) && py.functionAt(l) === fn && l.start >= within.startIndex && l.end <= within.endIndex,
    );
  if (inner) {
    const stepLoop =
      loops.length > 1 &&
      loops.slice(1).some(isEpochLoop) &&
      innermostTrainingLoops(py).some((t) => t.loop === inner);
    if (isBatchLoop(inner) || (stepLoop && !isEpochLoop(inner))) {
      const guarded = py.ifs.some(
        (i) => i.start > inner.start && i.end <= inner.end && i.start <= call.start && call.end <= i.end,
      );
      return guarded ? undefined : "batch";
    }
    if (isEpochLoop(inner) || batchLoops(inner.body).length > 0) return "epoch";
    return undefined;
  }
  if (!fn) return undefined;
  if (batchLoops(fn.body).some((l) => l.end <= call.start)) return "epoch";
  // A per-batch helper (`def train_step(self, x, y): ...; self.scheduler.step()`) runs as often as its callers.
  if (depth >= 2 || py.loopsAt(call).length > 0) return undefined;
  const sites = callersOf(py, fn).filter((c) => py.functionAt(c) !== fn);
  if (sites.length === 0) return undefined;
  const freqs = sites.map((c) => runsPer(py, c, depth + 1));
  return freqs.every((f) => f === freqs[0]) ? freqs[0] : undefined;
}

// ---- order and branches -----------------------------------------------------------------------

/** True when `a` and `b` sit in different branches of one `if`/`try` (they never run in one pass). */
export function exclusiveBranches(a: Node, b: Node): boolean {
  const clauseOf = (n: Node): Map<number, number> => {
    const m = new Map<number, number>();
    for (let cur: Node | null = n; cur?.parent; cur = cur.parent) {
      const p = cur.parent;
      if (p.type === "if_statement" || p.type === "try_statement") m.set(p.id, cur.id);
    }
    return m;
  };
  const ca = clauseOf(a);
  for (const [stmt, clause] of clauseOf(b)) {
    const other = ca.get(stmt);
    if (other !== undefined && other !== clause) return true;
  }
  return false;
}

// ---- modes and grad state ---------------------------------------------------------------------

export type Mode = "eval" | "train";

/** The mode a call sets: `.eval()`, `.train(False)` → eval; `.train()`, `.train(True)`, `.train(flag)` → train. */
function modeSetUncached(call: CallSite): Mode | undefined {
  if (call.method === "eval" && call.args.length === 0 && call.keywords.size === 0 && call.receiver)
    return "eval";
  if (call.method !== "train" || !call.receiver || call.imported) return undefined;
  const arg = call.arg("mode", 0);
  if (!arg) return call.args.length === 0 && call.keywords.size === 0 ? "train" : undefined;
  const v = boolValue(arg);
  return v === false ? "eval" : "train";
}

/** True when `call.train(expr)` takes a non-literal flag (torchvision's `model.train(phase == "train")`). */
export function modeIsDynamic(call: CallSite): boolean {
  const arg = call.method === "train" && modeSet(call) ? call.arg("mode", 0) : undefined;
  return arg !== undefined && boolValue(arg) === undefined;
}

const EVAL_CONTEXT = /eval/i;

/**
 * The mode `key` is in at `at`, judged from the same function: the last mode switch on that
 * object before `at`; failing that, "eval" when any object is switched to eval (or an eval-like
 * context manager is entered) before `at`. Undefined when the function does not say.
 */
export function modeAt(py: PythonModel, at: Span, key: string | undefined): Mode | undefined {
  const fn = py.functionAt(at);
  let own: Mode | undefined;
  let anyEval = false;
  const calls = scopeCalls(py, fn);
  for (const c of calls) {
    if (c.start >= at.start) break;
    if (c.end > at.start) continue;
    let mode = modeSet(c);
    let recvKey = objectKey(c.receiver);
    if (!mode) {
      // `prepare_for_eval(model)`: a local helper that switches the mode itself.
      const helper = localCallee(py, c);
      const switches = helper ? reachableCalls(py, helper.body, 1).filter((r) => modeSet(r.call)) : [];
      const inner = switches.pop();
      if (!inner) continue;
      // `set_mode(self, mode)` switching either way: the argument decides, so do not judge.
      if (switches.some((r) => modeSet(r.call) !== modeSet(inner.call))) return "eval";
      mode = modeSet(inner.call);
      const root = inner.receiverKey?.split(".")[0];
      const index = helper!.explicitParams.findIndex((p) => p.name === root);
      recvKey = index >= 0 ? objectKey(c.keywords.get(root!) ?? c.args[index]) : inner.receiverKey;
    }
    if (modeIsDynamic(c)) return "eval";
    if (key !== undefined && recvKey === key) own = mode;
    else if (mode === "eval") anyEval = true;
  }
  if (own) return own;
  if (anyEval) return "eval";
  for (const w of py.withsAt(at)) {
    if (fn && w.start < fn.start) break;
    if (w.items.some((i) => EVAL_CONTEXT.test(i.value.text))) return "eval";
  }
  return undefined;
}

const NO_GRAD = [
  "torch.no_grad",
  "torch.inference_mode",
  "torch.autograd.no_grad",
  "torch.autograd.grad_mode.no_grad",
  "torch.autograd.grad_mode.inference_mode",
];
const SET_GRAD = [
  "torch.set_grad_enabled",
  "torch.autograd.set_grad_enabled",
  "torch.autograd.grad_mode.set_grad_enabled",
];

function disablesGrad(py: PythonModel, expr: Node, hops = 0): boolean {
  // `ctx = torch.no_grad()` ... `with ctx:`
  if (expr.type === "identifier" && hops === 0) {
    const value = py.lastAssignment(expr.text, expr)?.value;
    return value !== undefined && disablesGrad(py, value, 1);
  }
  if (expr.type === "call") {
    const name = py.resolve(expr.childForFieldName("function") ?? expr);
    if (anyNameMatches(name, NO_GRAD)) return true;
    if (anyNameMatches(name, SET_GRAD)) {
      const arg = expr.childForFieldName("arguments")?.namedChildren[0];
      return boolValue(arg) !== true;
    }
  }
  // `torch.no_grad() if not train else nullcontext()`, `self.autocast_and_no_grad()`.
  return /no_grad|inference_mode|set_grad_enabled/.test(expr.text);
}

/** True when gradients are off at `at`: an enclosing no-grad block or decorator, or `set_grad_enabled(False)` before it. */
export function gradOffAt(py: PythonModel, at: Span): boolean {
  for (const w of py.withsAt(at)) if (w.items.some((i) => disablesGrad(py, i.value))) return true;
  for (let fn = py.functionAt(at); fn; fn = fn.parentFunction) {
    if (fn.decorators.some((d) => anyNameMatches(d, NO_GRAD) || /no_grad|inference_mode/.test(d)))
      return true;
  }
  const fn = py.functionAt(at);
  for (const c of py.callsTo(...SET_GRAD)) {
    if (c.start >= at.start) break;
    if (boolValue(c.args[0] ?? c.keywords.get("mode")) !== false) continue;
    if (py.functionAt(c) === fn || py.isModuleLevel(c)) return true;
  }
  return false;
}

// ---- inference passes -------------------------------------------------------------------------

const PASS_WORDS = new Set([
  "validate",
  "validation",
  "evaluate",
  "evaluation",
  "eval",
  "test",
  "predict",
  "prediction",
  "inference",
  "infer",
  "val",
  "valid",
]);
const NOT_PASS_WORDS = new Set([
  "train",
  "training",
  "fit",
  "build",
  "make",
  "get",
  "load",
  "create",
  "prepare",
  "setup",
  "split",
  "save",
  "plot",
  "log",
  "print",
  "metric",
  "metrics",
  "data",
  "dataset",
  "loader",
  "dataloader",
  "transform",
  "transforms",
  "collate",
  "config",
  "args",
  "parse",
  "on",
  "is",
  "should",
  "set",
]);
const SPLIT_WORDS = new Set([
  "val",
  "valid",
  "validation",
  "test",
  "testing",
  "eval",
  "evaluation",
  "dev",
  "holdout",
]);

export interface InferencePass {
  kind: "function" | "loop";
  /** Where a finding goes: the `def` line or the `for` line. */
  at: Span;
  fn?: FunctionDef;
  loop?: Loop;
  /** Forward calls of networks in the pass, with the network's key. */
  forwards: { call: CallSite; key: string }[];
}

/** Classes whose methods a framework drives (Lightning, HF Trainer, nn.Module itself, unittest...). */
// Bases that add no driver of their own.
const NEUTRAL_BASE = /^(abc|typing|typing_extensions|enum|dataclasses|collections\.abc)\./;

function frameworkDriven(py: PythonModel): Set<ClassDef> {
  const out = new Set<ClassDef>([...lightningModules(py), ...lightningCallbacks(py)]);
  const driven = subclassesOf(py, ["torch.nn.Module", "torch.nn.modules.**"]);
  for (const c of driven) out.add(c);
  for (const c of py.classes) {
    const framework = (b: string) => !NEUTRAL_BASE.test(b) && (b.includes(".") || py.imports.has(b));
    if (c.bases.some(framework)) out.add(c);
  }
  for (const c of subclassesOf(py, [...[...out].map((c) => c.name)])) out.add(c);
  return out;
}

/** True when the function is a method (or nested in a method) of a framework-driven class. */
function drivenBy(fn: FunctionDef, driven: Set<ClassDef>): boolean {
  for (let f: FunctionDef | undefined = fn; f; f = f.parentFunction)
    if (f.cls && driven.has(f.cls)) return true;
  return false;
}

function isPassName(name: string): boolean {
  const ws = words(name);
  return ws.some((w) => PASS_WORDS.has(w)) && !ws.some((w) => NOT_PASS_WORDS.has(w));
}

/** A loop over a validation/test split: `val_loader`, `tqdm(test_dl)`, `loaders["val"]`. */
export function isSplitLoop(loop: Loop): boolean {
  if (loop.kind !== "for" || !loop.iter) return false;
  return (loop.iter.text.match(/[A-Za-z_]\w*/g) ?? []).some((t) =>
    words(t).some((w) => SPLIT_WORDS.has(w) || SPLIT_COMPOUND.test(w)),
  );
}

const SPLIT_COMPOUND =
  /^(val|valid|validation|test|eval|dev|holdout)(loader|loaders|set|data|dataset|dl|ds|iter|batches)$/;

function trains(py: PythonModel, scope: Span | Node): boolean {
  return directCalls(py, scope).some(
    (c) =>
      isBackward(c) ||
      c.method === "requires_grad_" ||
      c.is("torch.autograd.grad") ||
      c.method === "manual_backward",
  );
}

/**
 * Validation, test and prediction passes: functions named for them, and loops over validation or
 * test data in other functions. Framework-driven methods, test files and passes that compute
 * gradients (adversarial evaluation, test-time training) are left out.
 */
export function inferencePasses(py: PythonModel, path: string): InferencePass[] {
  if (isTestPath(path)) return [];
  // The eval-mode and no-grad rules both ask, on the same file.
  let passes = passCache.get(py);
  if (!passes) {
    passes = findPasses(py);
    passCache.set(py, passes);
  }
  return passes;
}

const passCache = new WeakMap<PythonModel, InferencePass[]>();

function findPasses(py: PythonModel): InferencePass[] {
  const driven = frameworkDriven(py);
  const out: InferencePass[] = [];
  const passFns = new Set<FunctionDef>();
  for (const fn of py.functions) {
    if (!isPassName(fn.name) || drivenBy(fn, driven)) continue;
    // A `test_*` nobody calls that takes no arguments or asserts is a pytest test; one taking the model
    // and data, or called from the file (the tutorials' `test_loop(dataloader, model, loss_fn)`), is an evaluation.
    if (
      /^test_/.test(fn.name) &&
      callersOf(py, fn).length === 0 &&
      (fn.explicitParams.length === 0 || /^\s*assert\b/m.test(fn.body.text))
    )
      continue;
    if (trains(py, fn.body) || usedInTraining(py, fn)) continue;
    const forwards = forwardsIn(py, fn.body);
    if (forwards.length === 0) continue;
    passFns.add(fn);
    out.push({ kind: "function", at: fn, fn, forwards });
  }
  for (const loop of py.loops) {
    if (!isSplitLoop(loop)) continue;
    let inPass = false;
    let driverMethod = false;
    for (let fn = py.functionAt(loop); fn; fn = fn.parentFunction) {
      if (passFns.has(fn) || isPassName(fn.name)) inPass = true;
      if (drivenBy(fn, driven)) driverMethod = true;
    }
    if (inPass || driverMethod || trains(py, loop.body)) continue;
    if (out.some((p) => p.loop && p.loop.start <= loop.start && loop.end <= p.loop.end)) continue;
    const forwards = forwardsIn(py, loop.body);
    if (forwards.length > 0) out.push({ kind: "loop", at: loop, loop, forwards });
  }
  return out;
}

/** A "predict" helper whose output a training step back-propagates is part of training. */
function usedInTraining(py: PythonModel, fn: FunctionDef): boolean {
  return callersOf(py, fn).some((site) => {
    const outer = py.functionAt(site);
    if (outer === fn) return false;
    const own = assignmentOf(py, site);
    const seeds = (own?.targets ?? []).map((t) => rootName(t)).filter((t) => t !== undefined);
    return scopeCalls(py, outer).some((b) => {
      if (!isBackward(b) || b.end < site.start) return false;
      if (b.start <= site.start && site.end <= b.end) return true;
      if (seeds.length === 0 || b.start < site.end) return false;
      const live = followNames(py, seeds, own?.end ?? site.end, b, outer);
      const loss = b.method === "backward" && b.receiver?.type !== "identifier" ? b.args[0] : b.receiver;
      const root = loss ? rootName(loss.text) : undefined;
      return (
        root !== undefined &&
        (live.has(root) || (b.args[0] !== undefined && live.has(rootName(b.args[0].text) ?? "")))
      );
    });
  });
}

function forwardsIn(py: PythonModel, scope: Span | Node): { call: CallSite; key: string }[] {
  const out: { call: CallSite; key: string }[] = [];
  for (const call of directCalls(py, scope)) {
    const key = modelCallKey(py, call);
    if (key && !synthetic(py, call)) out.push({ call, key });
  }
  return out;
}

const RANDOM_INPUT = /\btorch\.(randn|rand|randint|zeros|ones|empty|full)(_like)?\s*\(/;

/**
 * A forward on made-up input (`net(torch.randn(1, 3, 32, 32))`) is a shape smoke test, not an
 * evaluation: the `def test(): print(net(torch.randn(...)).size())` at the end of model files.
 */
function synthetic(py: PythonModel, call: CallSite): boolean {
  const args = [...call.args, ...call.keywords.values()];
  return (
    args.length > 0 &&
    args.every((a) => {
      if (RANDOM_INPUT.test(a.text)) return true;
      if (a.type !== "identifier") return false;
      const value = py.lastAssignment(a.text, call)?.value;
      return value !== undefined && RANDOM_INPUT.test(value.text);
    })
  );
}

/** Calls of a local function from elsewhere in the file. */
export function callersOf(py: PythonModel, fn: FunctionDef): CallSite[] {
  let byMethod = methodIndex.get(py);
  if (!byMethod) {
    byMethod = new Map();
    for (const c of py.calls) {
      if (!c.method) continue;
      const list = byMethod.get(c.method);
      if (list) list.push(c);
      else byMethod.set(c.method, [c]);
    }
    methodIndex.set(py, byMethod);
  }
  return (byMethod.get(fn.name) ?? []).filter((c) => localCallee(py, c) === fn);
}

const methodIndex = new WeakMap<PythonModel, Map<string, CallSite[]>>();

/**
 * True when `fn` is a closure its enclosing function hands out (`return perform_val_step_fn`):
 * whoever keeps it decides the context it runs in, which the file does not show.
 */
export function handedOut(fn: FunctionDef): boolean {
  const parent = fn.parentFunction;
  if (!parent) return false;
  return new RegExp(`\\breturn\\s+${fn.name}\\b`).test(parent.body.text);
}

/** True when the file trains anything (a backward pass anywhere). */
export function fileTrains(py: PythonModel): boolean {
  return py.calls.some(isBackward);
}

/** True when the pass's condition holds at some call site of its function (one or two callers up). */
export function holdsAtCaller(
  py: PythonModel,
  fn: FunctionDef,
  holds: (site: CallSite) => boolean,
  depth = 2,
): boolean {
  for (const site of callersOf(py, fn)) {
    if (holds(site)) return true;
    const outer = py.functionAt(site);
    if (depth > 1 && outer && outer !== fn && holdsAtCaller(py, outer, holds, depth - 1)) return true;
  }
  return false;
}

// ---- statements -------------------------------------------------------------------------------

/** The call's statement when the call is the whole statement, alone on its line(s). */
export function soleStatement(call: CallSite, lines: string[]): Node | undefined {
  const stmt = call.node.parent;
  if (stmt?.type !== "expression_statement" || stmt.namedChildren.length !== 1) return undefined;
  const first = lines[stmt.startPosition.row] ?? "";
  const last = lines[stmt.endPosition.row] ?? "";
  if (first.slice(0, stmt.startPosition.column).trim() !== "") return undefined;
  if (last.slice(stmt.endPosition.column).replace(/#.*$/, "").trim() !== "") return undefined;
  return stmt;
}

/** The leading whitespace of a statement's first line. */
export function indentOf(stmt: Node, lines: string[]): string {
  return /^\s*/.exec(lines[stmt.startPosition.row] ?? "")?.[0] ?? "";
}

/** The calls of one scope (a function, or the module's own statements), in source order. */
export function scopeCalls(py: PythonModel, fn: FunctionDef | undefined): CallSite[] {
  return directCalls(py, fn ? fn.body : py.tree.rootNode);
}

// ---- memoised call questions ------------------------------------------------------------------

// The same calls are asked about from many loops and rules; node accessors cross into wasm, so
// each answer is computed once per call.
function memo<T>(compute: (call: CallSite) => T): (call: CallSite) => T {
  const cache = new WeakMap<CallSite, { v: T }>();
  return (call) => {
    let hit = cache.get(call);
    if (!hit) {
      hit = { v: compute(call) };
      cache.set(call, hit);
    }
    return hit.v;
  };
}

const pyMemo = <T>(compute: (py: PythonModel, call: CallSite) => T) => {
  const perModel = new WeakMap<PythonModel, (call: CallSite) => T>();
  return (py: PythonModel, call: CallSite): T => {
    let f = perModel.get(py);
    if (!f) {
      f = memo((c) => compute(py, c));
      perModel.set(py, f);
    }
    return f(call);
  };
};

/** The optimiser a `.step()` call updates, as text (`opt` for `opt.step()` and `scaler.step(opt)`). */
export const optimizerStepped = pyMemo(optimizerSteppedUncached);
/** `loss.backward()`, `scaler.scale(loss).backward()`, `accelerator.backward(loss)`, `torch.autograd.backward`. */
export const isBackward = memo(isBackwardUncached);
/** The key of the network a call runs forward (`model(x)`, `self.net(x)`), else undefined. */
export const modelCallKey = pyMemo(modelCallKeyUncached);
/** The mode a call switches its receiver to. */
export const modeSet = memo(modeSetUncached);
/** The local function a call runs: `helper(...)` → `def helper`, `self.helper(...)` → the method. */
export const localCallee = pyMemo(localCalleeUncached);

// ---- mode-dependent layers --------------------------------------------------------------------

// Layers that behave differently in train and eval mode.
const MODE_DEPENDENT = [
  "torch.nn.Dropout*",
  "torch.nn.AlphaDropout",
  "torch.nn.FeatureAlphaDropout",
  "torch.nn.*BatchNorm*",
  "torch.nn.*InstanceNorm*",
  "torch.nn.RNN",
  "torch.nn.LSTM",
  "torch.nn.GRU",
  "torch.nn.Transformer*",
  "torch.nn.MultiheadAttention",
  "torch.nn.functional.*dropout*",
  "torch.nn.functional.batch_norm",
  "torch.nn.functional.instance_norm",
];
const MODULE_BASES = ["torch.nn.Module", "torch.nn.modules.module.Module"];

/**
 * True when the local module class `name` (with its local bases and the local modules it builds)
 * contains no layer whose behaviour depends on train/eval mode, so switching modes changes
 * nothing. Anything built from outside the file counts as mode-dependent.
 */
export function modeFreeClass(py: PythonModel, name: string, depth = 0): boolean {
  const cls = py.classes.find((c) => c.name === name);
  if (!cls || depth > 3) return false;
  for (const base of cls.bases) {
    if (anyNameMatches(base, MODULE_BASES)) continue;
    if (!py.classes.some((c) => c.name === base) || !modeFreeClass(py, base, depth + 1)) return false;
  }
  if (/\.training\b/.test(cls.node.text)) return false;
  for (const c of py.callsIn(cls)) {
    const n = c.name;
    if (!n) continue;
    if (anyNameMatches(n, MODE_DEPENDENT)) return false;
    const last = n.split(".").pop() ?? "";
    if (!/^[A-Z]/.test(last)) {
      // A local builder (`make_layers(cfg)`) may add batch norm or dropout.
      if (!c.imported && !n.includes(".") && py.functions.some((f) => f.name === n && !f.cls)) return false;
      continue;
    }
    if (n.startsWith("torch.nn.")) continue;
    if (py.classes.some((k) => k.name === n)) {
      if (!modeFreeClass(py, n, depth + 1)) return false;
      continue;
    }
    return false;
  }
  return true;
}

/**
 * True when the network `key` is built in this file from a mode-free local class, or as an
 * `nn.Sequential` of mode-free layers (`nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 2))`).
 */
export function modeFreeModel(py: PythonModel, key: string, at: Span): boolean {
  const made = producers(py, key, at);
  return (
    made.length > 0 &&
    made.every((p) => (p === "torch.nn.Sequential" ? modeFreeSequential(py, key, at) : modeFreeClass(py, p)))
  );
}

// Calls allowed around the layers of a mode-free `nn.Sequential`: moving or casting it.
const PLACEMENT = new Set(["to", "cuda", "cpu", "double", "float", "half", "bfloat16"]);

function modeFreeSequential(py: PythonModel, key: string, at: Span): boolean {
  const fn = py.functionAt(at);
  const defs = py.assignments.filter((a) => {
    if (a.op !== "=" || a.targets.length !== 1 || a.targets[0] !== key) return false;
    const home = py.functionAt(a);
    return home === fn || home === undefined;
  });
  if (defs.length === 0) return false;
  return defs.every((a) => {
    const value = a.value;
    if (value?.type !== "call") return false;
    const inside = py.calls.filter((c) => c.start >= value.startIndex && c.end <= value.endIndex);
    return inside.every((c) => {
      const n = c.name;
      if (n?.startsWith("torch.nn.")) return !anyNameMatches(n, MODE_DEPENDENT);
      if (n && py.classes.some((k) => k.name === n)) return modeFreeClass(py, n);
      return c.method !== undefined && PLACEMENT.has(c.method) && !c.imported;
    });
  });
}

// ---- module paths and freezing ----------------------------------------------------------------

/** A module path in one namespace: a plain chain (`model.backbone`), or one under `self` of a class. */
export interface Chain {
  segs: string[];
  cls?: string;
}

export interface Toggle {
  at: Span;
  frozen: boolean;
  chains: Chain[];
}

const MODULE_WALKS = new Set([
  "parameters",
  "named_parameters",
  "children",
  "named_children",
  "modules",
  "named_modules",
]);

/** Every `requires_grad` switch in the file, with the module paths it applies to. */
export function gradToggles(py: PythonModel): Toggle[] {
  const out: Toggle[] = [];
  for (const a of py.assignments) {
    if (a.op !== "=") continue;
    const v = boolValue(a.value);
    if (v === undefined) continue;
    for (const t of a.targets) {
      if (!t.endsWith(".requires_grad")) continue;
      out.push({ at: a, frozen: !v, chains: chainsOfText(py, t.slice(0, -".requires_grad".length), a) });
    }
  }
  for (const c of py.methodCalls("requires_grad_")) {
    const arg = c.arg("requires_grad", 0);
    const v = arg ? boolValue(arg) : true;
    if (v === undefined || !c.receiver) continue;
    out.push({ at: c, frozen: !v, chains: chainsOf(py, c.receiver, c) });
  }
  return out.filter((t) => t.chains.length > 0);
}

function chainsOfText(py: PythonModel, text: string, at: Span): Chain[] {
  const chain = chainFromText(py, text, at);
  return chain ? resolveLoopVar(py, chain, at, 0) : [];
}

function chainsOf(py: PythonModel, node: Node, at: Span): Chain[] {
  const chain = moduleChain(py, node, at);
  return chain ? resolveLoopVar(py, chain, at, 0) : [];
}

/** `p` in `for p in model.backbone.parameters()` stands for (parameters of) `model.backbone`. */
function resolveLoopVar(py: PythonModel, chain: Chain, at: Span, depth: number): Chain[] {
  if (chain.cls || depth > 3) return [chain];
  const root = chain.segs[0];
  for (const loop of py.loopsAt(at)) {
    const target = loop.target;
    if (!target || !loop.iter || !namesOf(target).includes(root)) continue;
    const sources = iterModules(loop.iter);
    const out: Chain[] = [];
    for (const s of sources) {
      const c = moduleChain(py, s, loop);
      if (c)
        out.push(...resolveLoopVar(py, { ...c, segs: [...c.segs, ...chain.segs.slice(1)] }, loop, depth + 1));
    }
    return out;
  }
  // A helper's parameter: follow it to the arguments of the helper's calls in this file.
  const fn = py.functionAt(at);
  const index = fn?.explicitParams.findIndex((p) => p.name === root) ?? -1;
  if (!fn || index < 0 || depth > 1) return [chain];
  const out: Chain[] = [];
  for (const call of py.calls) {
    let arg: Node | undefined;
    if (call.method === fn.name && localCallee(py, call) === fn)
      arg = call.keywords.get(root) ?? call.args[index];
    // `model.apply(freeze_bn)` runs the helper on every submodule of `model`.
    else if (call.method === "apply" && index === 0 && call.args[0]?.text === fn.name) arg = call.receiver;
    const c = arg ? moduleChain(py, arg, call) : undefined;
    if (c)
      out.push(...resolveLoopVar(py, { ...c, segs: [...c.segs, ...chain.segs.slice(1)] }, call, depth + 1));
  }
  return out;
}

/** A loop over a module's parameters or submodules (`for p in model.backbone.parameters()`), the usual way to freeze. */
export function walksModules(loop: Loop): boolean {
  if (loop.kind !== "for" || !loop.iter) return false;
  let n: Node | null = loop.iter;
  while (
    n?.type === "call" &&
    /^(enumerate|list|tqdm|reversed)$/.test(n.childForFieldName("function")?.text ?? "")
  ) {
    n = n.childForFieldName("arguments")?.namedChildren[0] ?? null;
  }
  const f = n?.type === "call" ? n.childForFieldName("function") : null;
  return f?.type === "attribute" && MODULE_WALKS.has(f.childForFieldName("attribute")?.text ?? "");
}

/** The modules a loop walks: `X.parameters()`, `enumerate(X.children())`, `[model.a, model.b]`, `model.layers[:6]`. */
function iterModules(iter: Node): Node[] {
  let n: Node | null = iter;
  while (
    n?.type === "call" &&
    /^(enumerate|list|tqdm|reversed)$/.test(n.childForFieldName("function")?.text ?? "")
  ) {
    n = n.childForFieldName("arguments")?.namedChildren[0] ?? null;
  }
  if (!n) return [];
  if (n.type === "call") {
    const f = n.childForFieldName("function");
    if (f?.type === "attribute" && MODULE_WALKS.has(f.childForFieldName("attribute")?.text ?? "")) {
      const obj = f.childForFieldName("object");
      return obj ? [obj] : [];
    }
    return [];
  }
  if (n.type === "list" || n.type === "tuple") return n.namedChildren.filter((c): c is Node => c !== null);
  if (n.type === "subscript") {
    const v = n.childForFieldName("value");
    return v ? [v] : [];
  }
  return n.type === "identifier" || n.type === "attribute" ? [n] : [];
}

/** The module path an expression names (`model.backbone`, `self.encoder`), in its namespace. */
export function moduleChain(py: PythonModel, node: Node, at: Span): Chain | undefined {
  let n: Node | null = node;
  while (n?.type === "subscript" || n?.type === "parenthesized_expression") {
    n = n.type === "subscript" ? n.childForFieldName("value") : n.namedChildren[0];
  }
  const text = dotted(n);
  return text ? chainFromText(py, text, at) : undefined;
}

function chainFromText(py: PythonModel, text: string, at: Span): Chain | undefined {
  if (!/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/.test(text)) return undefined;
  const segs = text.split(".");
  if (segs[0] === "self") {
    const cls = py.classAt(at)?.name;
    return cls ? { segs: segs.slice(1), cls } : undefined;
  }
  // An instance of a local class: its `self` is the class's namespace.
  const cls = localClassOf(py, segs[0], at);
  return cls ? { segs: segs.slice(1), cls } : { segs };
}

function localClassOf(py: PythonModel, name: string, at: Span): string | undefined {
  const a =
    py.lastAssignment(name, at) ??
    py.assignments.filter((x) => x.targets.includes(name) && py.isModuleLevel(x)).pop();
  if (a?.op !== "=" || a.targets.length !== 1 || a.value?.type !== "call") return undefined;
  const ctor = py.resolve(a.value.childForFieldName("function") ?? a.value);
  return ctor && py.classes.some((c) => c.name === ctor) ? ctor : undefined;
}

/** True when every parameter under `inner` is also under `outer` (`model` covers `model.backbone`). */
export function covers(outer: Chain, inner: Chain): boolean {
  if (outer.cls !== inner.cls) return false;
  if (outer.segs.length > inner.segs.length) return false;
  return outer.segs.every((s, i) => inner.segs[i] === s);
}

function namesOf(target: Node): string[] {
  return target.text.split(/[\s,()[\]]+/).filter(Boolean);
}
