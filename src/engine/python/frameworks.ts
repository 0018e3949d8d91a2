import type { Node } from "web-tree-sitter";
import { anyNameMatches } from "../names.js";
import type { CallSite, ClassDef, FunctionDef, PythonModel } from "./model.js";

// Framework-level questions several packs ask: which classes are Lightning modules or callbacks,
// which functions and classes Ray runs remotely. Answers come from the model's prebuilt lists.

const LIGHTNING_MODULE = ["lightning.pytorch.**.LightningModule"];
const LIGHTNING_DATAMODULE = ["lightning.pytorch.**.LightningDataModule"];
const LIGHTNING_CALLBACK = ["lightning.pytorch.Callback", "lightning.pytorch.callbacks.**"];

/**
 * Classes of this file that derive from one of `patterns`, directly or through other classes
 * defined in the same file (`class Base(L.LightningModule)`, `class Net(Base)`).
 */
export function subclassesOf(py: PythonModel, patterns: readonly string[]): ClassDef[] {
  const found = new Set<ClassDef>();
  const byName = new Map(py.classes.map((c) => [c.name, c]));
  let changed = true;
  while (changed) {
    changed = false;
    for (const cls of py.classes) {
      if (found.has(cls)) continue;
      const hit = cls.bases.some((b) => {
        if (anyNameMatches(b, patterns)) return true;
        const local = byName.get(b);
        return local !== undefined && local !== cls && found.has(local);
      });
      if (hit) {
        found.add(cls);
        changed = true;
      }
    }
  }
  return py.classes.filter((c) => found.has(c));
}

/** Classes deriving from `LightningModule` (either package spelling), also through local bases. */
export function lightningModules(py: PythonModel): ClassDef[] {
  return subclassesOf(py, LIGHTNING_MODULE);
}

export function lightningDataModules(py: PythonModel): ClassDef[] {
  return subclassesOf(py, LIGHTNING_DATAMODULE);
}

/** Classes deriving from Lightning's `Callback` or one of its built-in callbacks. */
export function lightningCallbacks(py: PythonModel): ClassDef[] {
  return subclassesOf(py, LIGHTNING_CALLBACK);
}

/** The class and its ancestors defined in the same file, nearest first. */
export function localAncestry(py: PythonModel, cls: ClassDef): ClassDef[] {
  const out: ClassDef[] = [cls];
  const byName = new Map(py.classes.map((c) => [c.name, c]));
  for (let i = 0; i < out.length; i++) {
    for (const b of out[i].bases) {
      const local = byName.get(b);
      if (local && !out.includes(local)) out.push(local);
    }
  }
  return out;
}

/** Classes of this file that derive from `cls`, directly or not. */
export function localDescendants(py: PythonModel, cls: ClassDef): ClassDef[] {
  return py.classes.filter((c) => c !== cls && localAncestry(py, c).includes(cls));
}

export interface RayRemote {
  /** The function or class Ray runs remotely. */
  def: FunctionDef | ClassDef;
  kind: "task" | "actor";
  /** The local names the remote is reached by: its own name, and names bound to `ray.remote(fn)`. */
  names: string[];
  /** Where it is made remote: the decorator node, or the `ray.remote(...)` call. */
  site: Node;
  /** The calls that carry its options: `@ray.remote(...)`, `ray.remote(...)(fn)`, `X.options(...)`. */
  optionCalls: CallSite[];
  /** True when made remote by a bare `@ray.remote` / `ray.remote(fn)` (no options at that site). */
  bare: boolean;
}

/**
 * Functions and classes Ray runs remotely, in all the usual forms: `@ray.remote`,
 * `@ray.remote(num_gpus=1)`, `f = ray.remote(fn)`, `ray.remote(num_cpus=2)(fn)`, and their
 * `.options(...)` calls anywhere in the file.
 */
export function rayRemotes(py: PythonModel): RayRemote[] {
  const out: RayRemote[] = [];
  const byStart = new Map<number, CallSite>();
  for (const c of py.calls) byStart.set(c.start, c);
  const defs: (FunctionDef | ClassDef)[] = [...py.functions, ...py.classes];
  for (const def of defs) {
    const names = def.decorators;
    const index = names.indexOf("ray.remote");
    if (index < 0) continue;
    const deco = decoratorNodesOf(def.node)[index];
    if (!deco) continue;
    const expr = deco.namedChildren[0];
    const call = expr?.type === "call" ? byStart.get(expr.startIndex) : undefined;
    out.push({
      def,
      kind: isClass(def, py) ? "actor" : "task",
      names: [def.name],
      site: deco,
      optionCalls: call ? [call] : [],
      bare: !call,
    });
  }
  // `ray.remote(fn)` and `ray.remote(num_gpus=1)(fn)`.
  const defByName = new Map<string, FunctionDef | ClassDef>();
  for (const d of defs) if (!defByName.has(d.name)) defByName.set(d.name, d);
  for (const call of py.calls) {
    let target: Node | undefined;
    let options: CallSite | undefined;
    if (call.name === "ray.remote" && call.args.length === 1 && call.keywords.size === 0) {
      target = call.args[0];
    } else if (call.callee.type === "call") {
      const inner = byStart.get(call.callee.startIndex);
      if (inner && inner.name === "ray.remote" && call.args.length === 1) {
        target = call.args[0];
        options = inner;
      }
    }
    if (target?.type !== "identifier") continue;
    const def = defByName.get(target.text);
    if (!def || out.some((r) => r.def === def)) continue;
    const names = [def.name];
    const stmt = call.node.parent;
    if (stmt?.type === "assignment") {
      const left = stmt.childForFieldName("left");
      if (left?.type === "identifier" && left.text !== def.name) names.push(left.text);
    }
    out.push({
      def,
      kind: isClass(def, py) ? "actor" : "task",
      names,
      site: call.node,
      optionCalls: options ? [options] : [],
      bare: !options,
    });
  }
  // `.options(...)` on any name of the remote.
  if (out.length > 0) {
    for (const call of py.methodCalls("options")) {
      const recv = call.receiver;
      if (recv?.type !== "identifier") continue;
      const remote = out.find((r) => r.names.includes(recv.text));
      if (remote) remote.optionCalls.push(call);
    }
  }
  return out.sort((a, b) => a.def.start - b.def.start);
}

function isClass(def: FunctionDef | ClassDef, py: PythonModel): def is ClassDef {
  return py.classes.includes(def as ClassDef);
}

function decoratorNodesOf(def: Node): Node[] {
  const parent = def.parent;
  if (parent?.type !== "decorated_definition") return [];
  return parent.namedChildren.filter((c): c is Node => c?.type === "decorator");
}
