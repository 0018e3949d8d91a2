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

/** The literal width list of a KAN constructor (`width=[2, 5, 1]` or the first positional). */
export function widthOf(ctor: CallSite): { node: Node; sizes: (number | undefined)[] } | undefined {
  const node = ctor.arg("width", 0);
  const lit = literal(node);
  if (!node || lit?.kind !== "list") return undefined;
  const sizes = (node.namedChildren.filter((c) => c && c.type !== "comment") as Node[]).map((c) =>
    c.type === "list" ? numberValue(c.namedChildren[0]) : numberValue(c),
  );
  return { node, sizes };
}

/** pykan's default grid (intervals per spline) when `grid=` is not given. */
export const DEFAULT_GRID = 3;

/** The literal grid of a KAN constructor, or the default when absent; undefined when not literal. */
export function gridOf(ctor: CallSite): number | undefined {
  const node = ctor.arg("grid", 1);
  if (!node) return DEFAULT_GRID;
  return numberValue(node);
}
