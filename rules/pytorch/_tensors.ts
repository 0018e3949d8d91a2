import type { Node } from "web-tree-sitter";
import { anyNameMatches } from "../../src/engine/names.js";
import { lightningModules, subclassesOf } from "../../src/engine/python/frameworks.js";
import { boolValue, isTestPath, literal, namesIn, stringValue } from "../../src/engine/python/helpers.js";
import type { Assignment, CallSite, ClassDef, PythonModel, Span } from "../../src/engine/python/model.js";
import type { CheckContext } from "../../src/engine/rule.js";

export { onTriggerLine } from "../../src/engine/rule.js";

// Shared pieces of the pytorch pack's tensor, data-loader and device rules (not a rule: no YAML
// beside it). The training-loop rules keep theirs in `_loop.ts`.

/** The local name `torch` is bound to (`import torch` → "torch"), for fixes that spell it out. */
export function torchAlias(py: PythonModel): string | undefined {
  for (const [local, target] of py.imports) if (target === "torch") return local;
  return undefined;
}

// ---- autograd state --------------------------------------------------------------------------

const GRAD_OFF_CONTEXTS = ["torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad"];
const GRAD_OFF_DECORATORS = [...GRAD_OFF_CONTEXTS, "torch.autograd.grad_mode.no_grad"];
const SET_GRAD = ["torch.set_grad_enabled", "torch.autograd.set_grad_enabled"];

/** True when `node` is `torch.set_grad_enabled(False)` (a literal False only). */
function isSetGradFalse(py: PythonModel, node: Node): boolean {
  if (node.type !== "call") return false;
  if (!anyNameMatches(py.resolve(node.childForFieldName("function") ?? node), SET_GRAD)) return false;
  const arg = node.childForFieldName("arguments")?.namedChildren[0];
  return arg?.type === "false";
}

// Lightning runs its evaluation loops, hooks included, under no_grad/inference_mode.
const LIGHTNING_EVAL_HOOK = /^(validation|test|predict)_step$|^on_(validation|test|predict)_/;
const lightningCache = new WeakMap<PythonModel, Set<ClassDef>>();

/**
 * True when code at `at` runs with gradient tracking off: inside `with torch.no_grad()`,
 * `torch.inference_mode()` or `torch.set_grad_enabled(False)`; after a bare
 * `torch.set_grad_enabled(False)` statement in the same scope; in a function (or an enclosing
 * one) decorated with `@torch.no_grad()` / `@torch.inference_mode()`; or in a LightningModule's
 * validation, test or predict step and hooks.
 */
export function gradDisabledAt(py: PythonModel, at: Span | Node): boolean {
  for (const w of py.withsAt(at)) {
    for (const item of w.items) {
      const v = item.value;
      const callee = v.type === "call" ? v.childForFieldName("function") : v;
      if (callee && anyNameMatches(py.resolve(callee), GRAD_OFF_CONTEXTS)) return true;
      if (isSetGradFalse(py, v)) return true;
    }
  }
  const start = "startIndex" in at ? at.startIndex : at.start;
  const scope = py.functionAt(at);
  for (const c of py.calls) {
    if (c.start >= start) break;
    if (c.node.parent?.type === "expression_statement" && isSetGradFalse(py, c.node)) {
      const fn = py.functionAt(c);
      if (fn === undefined || fn === scope) return true;
    }
  }
  for (let fn = scope; fn; fn = fn.parentFunction) {
    if (fn.decorators.some((d) => anyNameMatches(d, GRAD_OFF_DECORATORS))) return true;
    if (fn.cls && LIGHTNING_EVAL_HOOK.test(fn.name)) {
      let mods = lightningCache.get(py);
      if (!mods) {
        mods = new Set(lightningModules(py));
        lightningCache.set(py, mods);
      }
      if (mods.has(fn.cls)) return true;
    }
  }
  return false;
}

// ---- where a value comes from ------------------------------------------------------------------

/**
 * The plain assignment that last bound `name` before `at`: in the same function first; then, for
 * `self.x`, any assignment to it in the class's methods (usually `__init__`); then a module-level
 * binding. Augmented assignments (`x += 1`) keep the binding and are skipped.
 */
export function bindingOf(py: PythonModel, name: string, at: Span): Assignment | undefined {
  const fn = py.functionAt(at);
  let found: Assignment | undefined;
  for (const a of py.assignments) {
    if (a.start >= at.start) break;
    if (a.op !== "=" || !a.targets.includes(name) || py.functionAt(a) !== fn) continue;
    found = a;
  }
  if (found) {
    // `for out in outputs:` after the assignment rebinds the name inside the loop.
    const f = found;
    if (py.loopsAt(at.start).some((l) => l.start > f.start && l.target && namesIn(l.target).has(name)))
      return undefined;
    return found.targets.length === 1 ? found : undefined;
  }
  if (name.startsWith("self.")) {
    const cls = py.classAt(at);
    if (!cls) return undefined;
    const hits = py
      .assignmentsIn(cls.node)
      .filter((a) => a.op === "=" && a.targets.length === 1 && a.targets[0] === name);
    return hits.length === 1 ? hits[0] : undefined;
  }
  if (!fn) return undefined;
  // A parameter or loop variable of the same name shadows the module-level binding.
  for (let f: typeof fn | undefined = fn; f; f = f.parentFunction) {
    if (f.params.some((p) => p.name === name)) return undefined;
  }
  if (py.within(py.loops, fn).some((l) => l.target && namesIn(l.target).has(name))) return undefined;
  const hits = py.assignments.filter(
    (a) => a.op === "=" && a.targets.length === 1 && a.targets[0] === name && py.isModuleLevel(a),
  );
  return hits.length === 1 ? hits[0] : undefined;
}

/** The call `node` is, looking through parentheses. */
export function asCall(node: Node | undefined | null): Node | undefined {
  let n = node;
  while (n?.type === "parenthesized_expression") n = n.namedChildren[0];
  return n?.type === "call" ? n : undefined;
}

/** The resolved callee of a call node (`nn.Sigmoid` → `torch.nn.Sigmoid`). */
export function calleeName(py: PythonModel, call: Node): string | undefined {
  const f = call.childForFieldName("function");
  return f ? py.resolve(f) : undefined;
}

/** The method name of a call node (`softmax` in `x.softmax(1)`), if its callee is an attribute. */
export function methodName(call: Node): string | undefined {
  const f = call.childForFieldName("function");
  return f?.type === "attribute" ? f.childForFieldName("attribute")?.text : undefined;
}

/** The object a method call is made on (`x` in `x.softmax(1)`). */
export function receiverOf(call: Node): Node | undefined {
  const f = call.childForFieldName("function");
  return f?.type === "attribute" ? (f.childForFieldName("object") ?? undefined) : undefined;
}

/** Positional arguments of a call node. */
export function positional(call: Node): Node[] {
  const list = call.childForFieldName("arguments");
  if (list?.type !== "argument_list") return list ? [list] : [];
  return list.namedChildren.filter(
    (c): c is Node =>
      c !== null &&
      c.type !== "keyword_argument" &&
      c.type !== "comment" &&
      c.type !== "list_splat" &&
      c.type !== "dictionary_splat",
  );
}

/** The value of keyword argument `name` in a call node. */
export function keyword(call: Node, name: string): Node | undefined {
  const list = call.childForFieldName("arguments");
  for (const c of list?.namedChildren ?? []) {
    if (c?.type === "keyword_argument" && c.childForFieldName("name")?.text === name)
      return c.childForFieldName("value") ?? undefined;
  }
  return undefined;
}

/**
 * The constructor call that built the object named `name` (`self.head`, `criterion`): followed
 * through `bindingOf`. Undefined when it was not built by a call in this file.
 */
export function constructionOf(py: PythonModel, name: string, at: Span): Node | undefined {
  const a = bindingOf(py, name, at);
  return asCall(a?.value);
}

/** For `nn.Sequential(a, b, c)`: the last layer's constructor call; for any other call, itself. */
export function lastLayer(py: PythonModel, ctor: Node): Node | undefined {
  if (calleeName(py, ctor) !== "torch.nn.Sequential") return ctor;
  const layers = positional(ctor);
  const last = layers[layers.length - 1];
  return asCall(last);
}

// ---- models and modules ----------------------------------------------------------------------

const MODULE_BASES = [
  "torch.nn.Module",
  "torch.nn.modules.**",
  "torch.nn.Sequential",
  "torch.nn.ModuleList",
  "lightning.pytorch.LightningModule",
  "lightning.pytorch.core.**",
];

const moduleCache = new WeakMap<PythonModel, ClassDef[]>();

/** Classes of this file that are PyTorch modules (nn.Module or LightningModule, also through local bases). */
export function moduleClasses(py: PythonModel): ClassDef[] {
  let found = moduleCache.get(py);
  if (!found) {
    found = subclassesOf(py, MODULE_BASES);
    moduleCache.set(py, found);
  }
  return found;
}

// The names models are usually bound to; a call through one of them is a forward pass.
const MODEL_NAME =
  /^(model|net|network|module|encoder|decoder|generator|discriminator|gen|disc|netG|netD|critic|actor|policy|backbone|classifier|clf|head|teacher|student|unet|vae|autoencoder|transformer|lm|mlp|cnn|rnn|lstm|gru|resnet|vit|bert|[a-z_]*_(model|net|network|encoder|decoder|head|mlp))$/i;
const MODEL_FACTORIES = [
  "torch.nn.**",
  "torchvision.models.**",
  "timm.create_model",
  "transformers.**.from_pretrained",
  "transformers.*.from_pretrained",
];
// Methods that return the module they are called on.
const MODULE_CHAIN = new Set(["to", "cuda", "cpu", "eval", "train", "float", "half", "double", "bfloat16"]);

/**
 * True when calling `callee` (the function part of a call at `at`) runs a model's forward pass:
 * `model(x)`, `self.net(x)`, `self(x)` in a module, `model.forward(x)`, or a name bound to a
 * `torch.nn` layer, a torchvision/timm/transformers model or a local nn.Module class.
 */
export function isModelCallee(py: PythonModel, callee: Node, at: Span): boolean {
  let target = callee;
  if (target.type === "attribute" && target.childForFieldName("attribute")?.text === "forward") {
    target = target.childForFieldName("object") ?? target;
  }
  const text = target.text.replace(/\s+/g, "");
  if (text === "self") {
    const cls = py.classAt(at);
    return cls !== undefined && moduleClasses(py).includes(cls);
  }
  if (!/^[A-Za-z_][\w.]*$/.test(text)) return false;
  const last = text.slice(text.lastIndexOf(".") + 1);
  if (MODEL_NAME.test(last) && !/loss|criterion/i.test(last)) return true;
  let ctor = constructionOf(py, text, at);
  for (let hops = 0; ctor && hops < 4 && MODULE_CHAIN.has(methodName(ctor) ?? ""); hops++) {
    ctor = asCall(receiverOf(ctor));
  }
  if (!ctor) return false;
  const name = calleeName(py, ctor);
  if (!name) return false;
  if (/Loss$/.test(name)) return false;
  if (anyNameMatches(name, MODEL_FACTORIES)) return true;
  return moduleClasses(py).some((c) => c.name === name);
}

// ---- data loaders ----------------------------------------------------------------------------

const DATALOADER = ["torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"];

/** `torch.utils.data.DataLoader(...)` calls, through any import spelling. */
export function dataLoaderCalls(py: PythonModel): CallSite[] {
  return py.callsTo(...DATALOADER);
}

const TRAIN = /train/i;
// Evaluation names, as words of snake_case (`val_loader`, `x_test`, not `interval`) or camelCase
// (`mnistTest`); `trainval` is training data (train and validation merged for the final fit).
const NOT_TRAIN =
  /(?<![a-z])(val|valid|test|eval|dev(?!ice)|predict|infer|calib|holdout)|(Val|Test|Eval|Dev(?!ice)|Predict|Holdout)|(VAL|TEST|EVAL)/;
const TRAIN_VAL = /train_?val/i;
const evaluationName = (text: string) =>
  /\btrain\s*=\s*False/.test(text) || (!TRAIN_VAL.test(text) && NOT_TRAIN.test(text));

/** The name a loader is bound to: `train_loader = DataLoader(...)`, or undefined. */
export function loaderName(call: CallSite): string | undefined {
  const stmt = call.node.parent;
  if (stmt?.type === "assignment" && stmt.childForFieldName("right")?.id === call.node.id) {
    return stmt.childForFieldName("left")?.text;
  }
  if (stmt?.type === "keyword_argument") return stmt.childForFieldName("name")?.text;
  return undefined;
}

// Keyword values that say a dataset is the evaluation split: `get_dataset(..., mode="test")`,
// `VOCSegmentation(..., image_set="val")`, `load_dataset(..., split="validation")`.
const EVAL_SPLIT = /^(val|valid|validation|test|testing|eval|evaluation|dev|holdout|inference|predict)$/i;
const SPLIT_KEYWORD = /split|mode|subset|phase|stage|set$/i;

/**
 * True when the dataset passed to a loader was built for evaluation: an inline or bound call with
 * `train=False`, or a split/mode keyword naming val/test (`source="train", mode="test"` is the
 * training images read with test-time transforms, for feature extraction, not for training).
 */
function builtForEvaluation(py: PythonModel, dataset: Node, at: Span): boolean {
  let value: Node | undefined = dataset;
  if (dataset.type === "identifier") value = bindingOf(py, dataset.text, at)?.value ?? undefined;
  const ctor = asCall(value);
  for (const c of ctor?.childForFieldName("arguments")?.namedChildren ?? []) {
    if (c?.type !== "keyword_argument") continue;
    const key = c.childForFieldName("name")?.text ?? "";
    const v = c.childForFieldName("value") ?? undefined;
    if (key === "train" && v?.type === "false") return true;
    const s = stringValue(v);
    if (s !== undefined && SPLIT_KEYWORD.test(key) && EVAL_SPLIT.test(s)) return true;
  }
  return false;
}

/**
 * True for `train_loader = DataLoader(ds, shuffle=False)` that rebinds a name which earlier in the
 * same scope held a shuffling loader: the training data re-read in order for prediction or plots.
 */
function rebuiltInOrder(py: PythonModel, call: CallSite, name: string): boolean {
  if (boolValue(call.arg("shuffle", 2)) !== false) return false;
  const scope = py.functionAt(call);
  return py.assignments.some((a) => {
    if (a.start >= call.start || a.op !== "=" || a.targets.length !== 1 || a.targets[0] !== name)
      return false;
    if (py.functionAt(a) !== scope) return false;
    const earlier = py.calls.find((c) => c.node.id === asCall(a.value)?.id);
    return earlier?.is(...DATALOADER) === true && boolValue(earlier.arg("shuffle", 2)) === true;
  });
}

/**
 * True when the loader evidently feeds training: it shuffles, or it is bound to a name that says
 * train, built from a dataset whose name says train, or built in `train_dataloader` (Lightning) or
 * another function named for training. Names that also say val/test/eval are not training loaders.
 */
export function isTrainingLoader(py: PythonModel, call: CallSite): boolean {
  const name = loaderName(call);
  if (name !== undefined && evaluationName(name)) return false;
  const dataset = call.arg("dataset", 0);
  if (dataset && builtForEvaluation(py, dataset, call)) return false;
  if (name !== undefined && rebuiltInOrder(py, call, name)) return false;
  if (name !== undefined && TRAIN.test(name)) return true;
  // Shuffling is what one does to training data.
  if (boolValue(call.arg("shuffle", 2)) === true) return true;
  const dsText = dataset?.text ?? "";
  if (dataset && evaluationName(dsText)) return false;
  if (dataset && TRAIN.test(dsText)) return true;
  const fn = py.functionAt(call);
  return fn !== undefined && TRAIN.test(fn.name) && !evaluationName(fn.name);
}

// Wrappers a training loop puts around its loader: `enumerate(loader)`, `tqdm(loader)`.
const LOOP_WRAPPERS = /^(enumerate|tqdm|trange|iter|zip|\w+\.tqdm|track)$/;

/**
 * True when the loader's bound name is iterated (directly or through `enumerate`/`tqdm`) by a
 * `for` loop after it, in the same function or at module level, whose body back-propagates:
 * `loader = DataLoader(ds); for x, y in loader: ...; loss.backward()` feeds training whatever it
 * is called. Loaders or datasets whose names say val/test are left out (an adversarial attack
 * back-propagates over test data).
 */
export function feedsBackwardLoop(py: PythonModel, call: CallSite): boolean {
  const name = loaderName(call);
  if (!name || !/^[A-Za-z_][\w.]*$/.test(name) || evaluationName(name)) return false;
  // Back-propagating over test data is an attack or an input-gradient map, not training.
  const dataset = call.arg("dataset", 0);
  if (dataset && (evaluationName(dataset.text) || builtForEvaluation(py, dataset, call))) return false;
  const scope = py.functionAt(call);
  const backward = py.methodCalls("backward");
  if (backward.length === 0) return false;
  const iterated = (iter: Node | undefined): boolean => {
    let n: Node | undefined = iter;
    for (let depth = 0; n && depth < 3; depth++) {
      if (n.text.replace(/\s+/g, "") === name) return true;
      if (n.type !== "call") return false;
      const callee = n.childForFieldName("function")?.text ?? "";
      if (!LOOP_WRAPPERS.test(callee)) return false;
      n = positional(n)[0];
    }
    return false;
  };
  return py.loops.some(
    (loop) =>
      loop.kind === "for" &&
      loop.start > call.end &&
      (scope === undefined || py.functionAt(loop) === scope || name.startsWith("self.")) &&
      iterated(loop.iter) &&
      backward.some((b) => loop.body.startIndex <= b.start && b.end <= loop.body.endIndex),
  );
}

const TENSOR_DATASET = ["torch.utils.data.TensorDataset", "torch.utils.data.dataset.TensorDataset"];
// Wrappers whose samples are their first argument's: `Subset(ds, idx)`.
const SAME_SAMPLES = ["torch.utils.data.Subset", "torch.utils.data.dataset.Subset"];

/**
 * The `TensorDataset(...)` construction a loader's dataset argument is (inline, bound to a name,
 * or wrapped in a `Subset`), or undefined: its samples are slices of tensors already in memory.
 */
export function tensorDatasetOf(
  py: PythonModel,
  node: Node | undefined,
  at: Span,
  depth = 0,
): Node | undefined {
  if (!node || depth > 3) return undefined;
  let value: Node | undefined = node;
  if (node.type === "identifier") value = bindingOf(py, node.text, at)?.value ?? undefined;
  const ctor = asCall(value);
  const name = ctor ? calleeName(py, ctor) : undefined;
  if (!ctor || !name) return undefined;
  if (TENSOR_DATASET.includes(name)) return ctor;
  return SAME_SAMPLES.includes(name) ? tensorDatasetOf(py, positional(ctor)[0], at, depth + 1) : undefined;
}

/** Loaders in test files are fixtures, not training pipelines. */
export function reviewableLoaders(ctx: CheckContext): CallSite[] {
  if (isTestPath(ctx.path)) return [];
  return dataLoaderCalls(ctx.py).filter((c) => !c.hasSplat);
}

// ---- CUDA evidence ---------------------------------------------------------------------------

const CUDA_STRING = /^cuda(:\d+)?$/;
// Saving and restoring the CUDA generators' state (checkpointing, seed callbacks) works, and is
// written, whether or not anything runs on the GPU.
const RNG_STATE = /^torch\.cuda\.(get|set)_rng_state(_all)?$/;

/** True when a node is the literal string "cuda" or "cuda:N". */
export function isCudaString(node: Node | undefined): boolean {
  const s = stringValue(node);
  return s !== undefined && CUDA_STRING.test(s);
}

/**
 * True when the file runs on CUDA: `.cuda()`, a `"cuda"` device string, `torch.cuda.*` calls,
 * or a Lightning `accelerator="gpu"` / `gpus=N`.
 */
export function usesCuda(py: PythonModel): boolean {
  for (const c of py.calls) {
    if (c.method === "cuda" && c.receiver) return true;
    if (c.name?.startsWith("torch.cuda.") && !c.name.startsWith("torch.cuda.amp") && !RNG_STATE.test(c.name))
      return true;
    for (const a of c.args) if (a.type === "string" && isCudaString(a)) return true;
    for (const [k, v] of c.keywords) {
      if (isCudaString(v)) return true;
      const lit = k === "accelerator" || k === "gpus" ? literal(v) : undefined;
      if (k === "accelerator" && lit?.kind === "str" && /^(gpu|cuda)$/.test(lit.value)) return true;
      if (k === "gpus" && lit?.kind === "num" && lit.value > 0) return true;
    }
  }
  return py.assignments.some((a) => a.value?.type === "string" && isCudaString(a.value));
}
