import type { Node } from "web-tree-sitter";
import { anyNameMatches } from "../names.js";
import { namesIn } from "./helpers.js";
import type { Assignment, CallSite, FunctionDef, PythonModel, Span } from "./model.js";

// Statement order and simple def-use inside one scope (a function body, or the module's own
// statements). Enough to answer "is the data fitted here split later in the same scope?"
// without a real data-flow analysis: names are followed through plain assignments only.

/** The function a position belongs to (undefined: module level). Two spans share a scope when equal. */
export function scopeOf(py: PythonModel, at: Span | Node | number): FunctionDef | undefined {
  return py.functionAt(at);
}

export function sameScope(py: PythonModel, a: Span | Node, b: Span | Node): boolean {
  return py.functionAt(a) === py.functionAt(b);
}

/** The root identifier of an expression's text: `df` in `df["a"]`, `self` in `self.x`. */
export function rootName(text: string): string | undefined {
  return /^\s*([A-Za-z_]\w*)/.exec(text)?.[1];
}

/** The assignment whose value contains `node` (the statement `x = f(node)`), if any. */
export function assignmentOf(py: PythonModel, at: Span): Assignment | undefined {
  let best: Assignment | undefined;
  for (const a of py.assignments) {
    if (a.start > at.start) break;
    const v = a.value;
    if (v && v.startIndex <= at.start && at.end <= v.endIndex) best = a;
  }
  return best;
}

/**
 * The qualified name of the constructor that produced the object `node` names: `StandardScaler()`
 * directly (`StandardScaler().fit(X)`), or through the last plain assignment in the same scope
 * (`scaler = StandardScaler(); scaler.fit(X)`). Undefined when it cannot be told.
 */
export function constructorOf(py: PythonModel, node: Node | undefined, at: Span): string | undefined {
  if (!node) return undefined;
  let expr: Node | null | undefined = node;
  for (let hops = 0; expr && hops < 3; hops++) {
    if (expr.type === "call") return py.resolve(expr.childForFieldName("function") ?? expr);
    if (expr.type === "parenthesized_expression") {
      expr = expr.namedChildren[0];
      continue;
    }
    if (expr.type !== "identifier" && expr.type !== "attribute") return undefined;
    const a = py.lastAssignment(expr.text.replace(/\s+/g, ""), at);
    if (a?.op !== "=" || a.targets.length !== 1) return undefined;
    expr = a.value;
  }
  return undefined;
}

/**
 * Follows names forward through the assignments of one scope, from `from` up to (not into) the
 * statement at `until`: a target whose value reads a followed name becomes followed; a plain name
 * rebound to something unrelated stops being followed. Returns the names followed at `until`.
 */
export function followNames(
  py: PythonModel,
  initial: Iterable<string>,
  from: number,
  until: Span,
  scope: FunctionDef | undefined,
): Set<string> {
  const names = new Set(initial);
  for (const a of py.assignments) {
    if (a.start >= until.start) break;
    if (a.end <= from || (a.start <= until.start && until.end <= a.end)) continue;
    if (py.functionAt(a) !== scope) continue;
    const value = a.value;
    if (!value) continue;
    const reads = namesIn(value);
    const tainted =
      [...reads].some((n) => names.has(n)) || (a.op !== "=" && a.targets.some((t) => names.has(t)));
    for (const t of a.targets) {
      const root = rootName(t);
      if (!root) continue;
      if (tainted) names.add(root);
      else if (t === root && a.op === "=") names.delete(root);
    }
  }
  return names;
}

// ---- splits -----------------------------------------------------------------------------------

const SPLITTER_CLASSES = [
  "sklearn.model_selection.*Fold",
  "sklearn.model_selection.*Split",
  "sklearn.model_selection.*SearchCV",
];
const CV_FUNCTIONS = [
  "sklearn.model_selection.cross_val_score",
  "sklearn.model_selection.cross_validate",
  "sklearn.model_selection.cross_val_predict",
  "sklearn.model_selection.learning_curve",
  "sklearn.model_selection.validation_curve",
  "sklearn.model_selection.permutation_test_score",
];

export interface SplitCall {
  call: CallSite;
  /** The arguments that carry data being split. */
  data: Node[];
  kind: "train_test_split" | "splitter" | "cross_validation" | "random_split";
}

/** Calls that split data into train/test parts or folds, with the data arguments they split. */
export function splitCalls(py: PythonModel): SplitCall[] {
  const out: SplitCall[] = [];
  for (const call of py.calls) {
    if (call.is("sklearn.model_selection.train_test_split")) {
      out.push({ call, data: call.args, kind: "train_test_split" });
    } else if (call.is("torch.utils.data.random_split")) {
      const d = call.arg("dataset", 0);
      out.push({ call, data: d ? [d] : [], kind: "random_split" });
    } else if (call.is(...CV_FUNCTIONS)) {
      const d = [call.arg("X", 1), call.arg("y", 2)].filter((n): n is Node => n !== undefined);
      out.push({ call, data: d, kind: "cross_validation" });
    } else if (call.method === "split" || call.method === "fit") {
      const ctor = constructorOf(py, call.receiver, call);
      if (ctor && anyNameMatches(ctor, SPLITTER_CLASSES)) {
        if (call.method === "fit" && !ctor.endsWith("SearchCV")) continue;
        if (call.method === "split" && ctor.endsWith("SearchCV")) continue;
        out.push({ call, data: call.args, kind: call.method === "fit" ? "cross_validation" : "splitter" });
      }
    }
  }
  return out;
}

/** Names a split's assignment binds (`X_train`, `X_test`, … in `X_train, X_test = train_test_split(X)`). */
export function splitOutputs(py: PythonModel, split: SplitCall): string[] {
  const a = assignmentOf(py, split.call);
  if (a) return a.targets.map((t) => rootName(t) ?? t);
  // `for train_idx, test_idx in kf.split(X)`
  for (const loop of py.loopsAt(split.call)) {
    const iter = loop.iter;
    if (iter && iter.startIndex <= split.call.start && split.call.end <= iter.endIndex && loop.target) {
      return [...namesIn(loop.target)];
    }
  }
  return [];
}

/** True when any of `names` is read by one of the split's data arguments. */
export function splitReads(split: SplitCall, names: Set<string>): boolean {
  return split.data.some((d) => [...namesIn(d)].some((n) => names.has(n)));
}
