import type { Node } from "web-tree-sitter";
import { assignmentOf, rootName } from "../../src/engine/python/flow.js";
import { literal, numberValue } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";

// Shared pieces of the `kan` pack (not a rule: no YAML beside it). pykan's tutorials use
// `from kan import *`, which binds no name the import map can follow, so a bare `KAN(...)` counts
// too when the file star-imports from `kan`.

// `pykan.kan` is how the repository is imported when vendored or installed from a clone.
const CLASSES = [
  "kan.KAN",
  "kan.MultKAN",
  "kan.**.KAN",
  "kan.**.MultKAN",
  "pykan.**.KAN",
  "pykan.**.MultKAN",
];
const DERIVED = /^(refine|prune|rewind|checkout|copy|to|cuda|cpu|double|float|speed)$/;
// Methods that return the model itself, so `KAN(...).to(device)` still assigns the KAN.
const CHAINED = /^(to|cuda|cpu|double|float|speed|initialize_from_another_model)$/;

export interface KanModel {
  /** The constructor call. */
  ctor: CallSite;
  /** Variables that hold this model (or one derived from it by `refine`, `prune`, …). */
  names: Set<string>;
}

export function importsKan(py: PythonModel): boolean {
  return py.importsModule("kan", "pykan");
}

export function isKanConstructor(py: PythonModel, call: CallSite): boolean {
  if (call.is(...CLASSES)) return true;
  if (call.imported || (call.name !== "KAN" && call.name !== "MultKAN")) return false;
  return [...py.starImports].some((m) => /^(py)?kan(\.|$)/.test(m));
}

const cache = new WeakMap<PythonModel, KanModel[]>();

/** Every KAN the file builds, with the variables that hold it. */
export function kanModels(py: PythonModel): KanModel[] {
  let models = cache.get(py);
  if (models) return models;
  models = [];
  if (importsKan(py)) {
    for (const call of py.calls) {
      if (!isKanConstructor(py, call)) continue;
      const a = assignmentOf(py, call);
      const names = new Set<string>();
      if (a && a.value?.id === chainTop(call.node).id) for (const t of a.targets) names.add(t);
      models.push({ ctor: call, names });
    }
    // `model = model.refine(10)`, `pruned = model.prune()`, `model = self.model`: still the same
    // KAN family. Two passes, so an alias of a derived model (or the reverse) is followed too.
    for (let pass = 0; pass < 2 && models.length > 0; pass++) {
      for (const call of py.calls) {
        if (!call.method || !DERIVED.test(call.method) || !call.receiver) continue;
        const m = modelOf(models, call);
        const a = assignmentOf(py, call);
        if (m && a && a.value?.id === chainTop(call.node).id) for (const t of a.targets) m.names.add(t);
      }
      for (const a of py.assignments) {
        const v = a.value;
        if (a.op !== "=" || (v?.type !== "identifier" && v?.type !== "attribute")) continue;
        const text = v.text.replace(/\s+/g, "");
        const m = models.find((k) => k.names.has(text));
        if (m) for (const t of a.targets) m.names.add(t);
      }
    }
  }
  cache.set(py, models);
  return models;
}

/** The outermost call of a `KAN(...).to(device).speed()` chain of self-returning methods. */
function chainTop(node: Node): Node {
  let cur = node;
  for (;;) {
    const attr = cur.parent;
    if (attr?.type !== "attribute" || attr.childForFieldName("object")?.id !== cur.id) return cur;
    const name = attr.childForFieldName("attribute")?.text ?? "";
    const call = attr.parent;
    if (!CHAINED.test(name) || call?.type !== "call" || call.childForFieldName("function")?.id !== attr.id)
      return cur;
    cur = call;
  }
}

function modelOf(models: KanModel[], call: CallSite): KanModel | undefined {
  const recv = call.receiver?.text.replace(/\s+/g, "");
  if (!recv) return undefined;
  return models.find((m) => m.names.has(recv) || m.names.has(rootName(recv) ?? ""));
}

/** The KAN a method call is made on, if the receiver holds one. */
export function kanOf(py: PythonModel, call: CallSite): KanModel | undefined {
  return modelOf(kanModels(py), call);
}

/** Training calls on a KAN: `model.fit(dataset, ...)`, and the older `model.train(dataset, ...)`. */
export function kanTrainings(py: PythonModel): { call: CallSite; model: KanModel }[] {
  const out: { call: CallSite; model: KanModel }[] = [];
  for (const call of py.methodCalls("fit", "train")) {
    if (call.method === "train" && call.args.length === 0 && call.keywords.size === 0) continue; // nn.Module.train()
    const model = kanOf(py, call);
    if (model) out.push({ call, model });
  }
  return out;
}

/**
 * The width list of a KAN constructor (`width=[2, 5, 1]` or the first positional): a literal, a
 * simple list expression (`[2] + [8] * 4 + [1]`), or, given the file, a name bound to one
 * (`widths = [2, 5, 1]` earlier in the scope or at module level). `node` is the argument itself.
 */
export function widthOf(
  ctor: CallSite,
  py?: PythonModel,
): { node: Node; sizes: (number | undefined)[] } | undefined {
  const node = ctor.arg("width", 0);
  if (!node) return undefined;
  let value: Node | undefined = node;
  if (py && node.type === "identifier")
    value = (py.lastAssignment(node.text, ctor) ?? py.lastAssignment(node.text, Number.MAX_SAFE_INTEGER))
      ?.value;
  const sizes = listSizes(value);
  return sizes ? { node, sizes } : undefined;
}

/** Layer sizes of a list expression; a nested `[n, mult]` entry (MultKAN) counts as its first number. */
function listSizes(node: Node | undefined, depth = 0): (number | undefined)[] | undefined {
  if (!node || depth > 4) return undefined;
  if (node.type === "parenthesized_expression")
    return listSizes(node.namedChildren[0] ?? undefined, depth + 1);
  if (node.type === "list") {
    if (literal(node)?.kind !== "list") return undefined;
    return (node.namedChildren.filter((c) => c && c.type !== "comment") as Node[]).map((c) =>
      c.type === "list" ? numberValue(c.namedChildren[0]) : numberValue(c),
    );
  }
  if (node.type !== "binary_operator") return undefined;
  const op = node.childForFieldName("operator")?.text;
  const left = node.childForFieldName("left") ?? undefined;
  const right = node.childForFieldName("right") ?? undefined;
  if (op === "+") {
    const a = listSizes(left, depth + 1);
    const b = listSizes(right, depth + 1);
    return a && b ? [...a, ...b] : undefined;
  }
  if (op === "*") {
    const [list, times] = left?.type === "integer" ? [right, left] : [left, right];
    const n = numberValue(times);
    const a = listSizes(list, depth + 1);
    return a && n !== undefined && Number.isInteger(n) && n >= 0 && n <= 64
      ? Array(n).fill(a).flat()
      : undefined;
  }
  return undefined;
}

/** pykan's default grid (intervals per spline) when `grid=` is not given. */
export const DEFAULT_GRID = 3;

/** The literal grid of a KAN constructor, or the default when absent; undefined when not literal. */
export function gridOf(ctor: CallSite): number | undefined {
  const node = ctor.arg("grid", 1);
  if (!node) return DEFAULT_GRID;
  return numberValue(node);
}
