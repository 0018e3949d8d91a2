import type { Node } from "web-tree-sitter";
import { assignmentOf } from "../../src/engine/python/flow.js";
import { literal, stringValue } from "../../src/engine/python/helpers.js";
import type { Assignment, CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { onTriggerLine } from "./_lib.js";

// Features and target of one fit/split, traced back one or two plain assignments to the frame
// they were cut from. Only shapes whose columns can be told from the code are judged.

interface Target {
  frame: string;
  /** The column key as written: the string's value, or a constant's name. */
  key: string;
  display: string;
  assignment?: Assignment;
}

interface Features {
  frame: string;
  expr: Node;
  /** The node naming the frame, for the fix. */
  frameNode: Node;
  /** Columns kept (explicit selection) or dropped; undefined columns: the whole frame. */
  kept?: string[];
  dropped?: string[];
  assignment?: Assignment;
}

const FRAME_ATTRIBUTES = new Set([
  "values",
  "index",
  "columns",
  "shape",
  "dtypes",
  "T",
  "iloc",
  "loc",
  "at",
  "iat",
  "size",
  "ndim",
  "empty",
  "data",
  "target",
  "str",
  "dt",
  "cat",
]);

const LIST_EDITS = new Set(["remove", "pop", "append", "extend", "insert", "clear"]);

const CONSUMERS = [
  "sklearn.model_selection.train_test_split",
  "sklearn.model_selection.cross_val_score",
  "sklearn.model_selection.cross_validate",
  "sklearn.model_selection.cross_val_predict",
];

/** The (features, target) argument pair of a call that fits or splits on them. */
function pairOf(call: CallSite): [Node, Node] | undefined {
  if (call.is("sklearn.model_selection.train_test_split")) {
    const [x, y] = call.args;
    return x && y && call.args.length === 2 ? [x, y] : undefined;
  }
  if (call.is(...CONSUMERS)) {
    const x = call.arg("X", 1);
    const y = call.arg("y", 2);
    return x && y ? [x, y] : undefined;
  }
  if (call.method === "fit") {
    const x = call.arg("X", 0) ?? call.arg("x", 0);
    const y = call.arg("y", 1);
    return x && y ? [x, y] : undefined;
  }
  return undefined;
}

/** The expression a name holds at `at`, through a plain assignment (tuple assignments included). */
function boundValue(py: PythonModel, node: Node, at: CallSite | Assignment): [Node, Assignment] | undefined {
  if (node.type !== "identifier") return undefined;
  const a = py.lastAssignment(node.text, at);
  if (a?.op !== "=" || !a.value) return undefined;
  if (a.targets.length === 1) return [a.value, a];
  const items = a.value.namedChildren.filter((c): c is Node => !!c && c.type !== "comment");
  const i = a.targets.indexOf(node.text);
  const isTuple = a.value.type === "expression_list" || a.value.type === "tuple";
  return isTuple && items.length === a.targets.length && items[i] ? [items[i], a] : undefined;
}

function unwrap(node: Node): Node {
  let n = node;
  // `.values`, `.to_numpy()`, `.astype(...)`, `.copy()` keep the columns.
  for (;;) {
    if (n.type === "attribute" && n.childForFieldName("attribute")?.text === "values") {
      n = n.childForFieldName("object")!;
      continue;
    }
    if (n.type === "call") {
      const fn = n.childForFieldName("function");
      const name = fn?.type === "attribute" ? fn.childForFieldName("attribute")?.text : undefined;
      if (name && ["to_numpy", "astype", "copy", "to_frame"].includes(name)) {
        n = fn!.childForFieldName("object")!;
        continue;
      }
    }
    return n;
  }
}

/** A column key: `s:` + a string's value, or `n:` + the name of a variable holding it. */
function keyOf(node: Node | null | undefined, consts: Map<string, string>): string | undefined {
  if (!node) return undefined;
  const s = stringValue(node);
  if (s !== undefined) return `s:${s}`;
  if (node.type !== "identifier") return undefined;
  const c = consts.get(node.text);
  return c !== undefined ? `s:${c}` : `n:${node.text}`;
}

/** Module-level names bound once to a string (`TARGET = "label"`), so both spellings compare equal. */
function stringConstants(py: PythonModel): Map<string, string> {
  const out = new Map<string, string>();
  const seen = new Set<string>();
  for (const a of py.assignments) {
    if (a.targets.length !== 1) continue;
    const name = a.targets[0];
    const value = py.isModuleLevel(a) && a.op === "=" ? stringValue(a.value) : undefined;
    if (seen.has(name) || value === undefined) out.delete(name);
    else out.set(name, value);
    seen.add(name);
  }
  return out;
}

function targetOf(
  py: PythonModel,
  node: Node,
  at: CallSite,
  consts: Map<string, string>,
): Target | undefined {
  let expr = node;
  let assignment: Assignment | undefined;
  const traced = boundValue(py, node, at);
  if (traced) [expr, assignment] = traced;
  expr = unwrap(expr);
  if (expr.type === "attribute") {
    // `df.price`: attribute access to a column, unless it names a DataFrame property.
    const frame = expr.childForFieldName("object");
    const col = expr.childForFieldName("attribute")?.text;
    if (frame?.type !== "identifier" || !col || FRAME_ATTRIBUTES.has(col) || py.imports.has(frame.text))
      return undefined;
    return { frame: frame.text, key: `s:${col}`, display: `"${col}"`, assignment };
  }
  if (expr.type !== "subscript") return undefined;
  const frame = expr.childForFieldName("value");
  if (frame?.type !== "identifier") return undefined;
  const subs = expr.childrenForFieldName("subscript").filter((c): c is Node => !!c);
  if (subs.length !== 1) return undefined;
  let sub = subs[0];
  if (sub.type === "list" && sub.namedChildren.length === 1) sub = sub.namedChildren[0]!;
  const key = keyOf(sub, consts);
  return key === undefined ? undefined : { frame: frame.text, key, display: sub.text, assignment };
}

/**
 * The column keys of a list (literal, or a variable assigned one in the same scope). A bare key
 * counts as a one-column list only when `single` allows it (`drop(columns=TARGET)`).
 */
function columnList(
  py: PythonModel,
  node: Node | null | undefined,
  at: Node,
  single: boolean,
  consts: Map<string, string>,
): string[] | undefined {
  if (!node) return undefined;
  let n = node;
  if (n.type === "identifier") {
    const name = n.text;
    const a = py.lastAssignment(name, at);
    if (
      a?.value &&
      a.op === "=" &&
      a.targets.length === 1 &&
      (a.value.type === "list" || a.value.type === "tuple")
    ) {
      // `cols.remove("target")` and the like change the list after it was written.
      const edited = py.calls.some(
        (c) =>
          c.start > a.end &&
          c.end <= at.startIndex &&
          c.receiver?.text === name &&
          c.method !== undefined &&
          LIST_EDITS.has(c.method),
      );
      if (edited) return undefined;
      n = a.value;
    } else return single ? [keyOf(n, consts)!] : undefined;
  }
  if (n.type === "string") return single ? [keyOf(n, consts)!] : undefined;
  if (n.type !== "list" && n.type !== "tuple") return undefined;
  const out: string[] = [];
  for (const item of n.namedChildren) {
    if (!item || item.type === "comment") continue;
    const k = keyOf(item, consts);
    if (k === undefined) return undefined;
    out.push(k);
  }
  return out;
}

/**
 * True for every column of `frame`: `df.columns`, `df.columns.tolist()`, `list(df.columns)`, or a
 * name bound to one of those and not edited afterwards (`cols.remove("y")`).
 */
function allColumns(py: PythonModel, node: Node, frame: string, at: Node): boolean {
  const isColumns = (n: Node | null | undefined): boolean => {
    if (!n) return false;
    if (n.type === "attribute") {
      const attr = n.childForFieldName("attribute")?.text;
      const obj = n.childForFieldName("object");
      if (attr === "columns") return obj?.text === frame;
      return attr === "values" && isColumns(obj);
    }
    if (n.type !== "call") return false;
    const fn = n.childForFieldName("function");
    const args = n.childForFieldName("arguments")?.namedChildren.filter((c) => c?.type !== "comment") ?? [];
    if (fn?.type === "identifier" && fn.text === "list" && args.length === 1) return isColumns(args[0]);
    const method = fn?.type === "attribute" ? fn.childForFieldName("attribute")?.text : undefined;
    return (
      (method === "tolist" || method === "to_list") &&
      args.length === 0 &&
      isColumns(fn?.childForFieldName("object"))
    );
  };
  if (isColumns(node)) return true;
  if (node.type !== "identifier") return false;
  const a = py.lastAssignment(node.text, at);
  if (a?.op !== "=" || a.targets.length !== 1 || !isColumns(a.value)) return false;
  return !py.calls.some(
    (c) =>
      c.start > a.end &&
      c.end <= at.startIndex &&
      c.receiver?.text === node.text &&
      c.method !== undefined &&
      LIST_EDITS.has(c.method),
  );
}

/** True when the key is in the list; undefined when the list mixes spellings and cannot tell. */
function listHas(list: string[], key: string): boolean | undefined {
  if (list.includes(key)) return true;
  return list.some((k) => k[0] !== key[0]) ? undefined : false;
}

function featuresOf(
  py: PythonModel,
  node: Node,
  at: CallSite,
  consts: Map<string, string>,
): Features | undefined {
  const traced = tracedFeatures(py, node, at, consts);
  if (traced || node.type !== "identifier" || py.imports.has(node.text)) return traced;
  // The name itself may be the frame (`df = load(); model.fit(df, df["y"])`).
  return { frame: node.text, expr: node, frameNode: node };
}

function tracedFeatures(
  py: PythonModel,
  node: Node,
  at: CallSite,
  consts: Map<string, string>,
): Features | undefined {
  let expr = node;
  let assignment: Assignment | undefined;
  const traced = boundValue(py, node, at);
  if (traced) [expr, assignment] = traced;
  expr = unwrap(expr);
  // `np.asarray(df)` keeps every column too.
  if (
    expr.type === "call" &&
    /^(numpy\.(asarray|array)|torch\.tensor)$/.test(py.resolve(expr.childForFieldName("function")!) ?? "")
  ) {
    const inner = expr.childForFieldName("arguments")?.namedChildren[0];
    if (!inner) return undefined;
    expr = unwrap(inner);
  }
  if (expr.type === "identifier") {
    if (py.imports.has(expr.text)) return undefined;
    return { frame: expr.text, expr, frameNode: expr, assignment };
  }
  if (expr.type === "subscript") {
    const frame = expr.childForFieldName("value");
    const subs = expr.childrenForFieldName("subscript").filter((c): c is Node => !!c);
    if (frame?.type !== "identifier" || subs.length !== 1) return undefined;
    if (allColumns(py, subs[0], frame.text, expr))
      return { frame: frame.text, expr, frameNode: frame, assignment };
    if (subs[0].type !== "list" && subs[0].type !== "identifier") return undefined;
    const kept = columnList(py, subs[0], expr, false, consts);
    return kept ? { frame: frame.text, expr, frameNode: frame, kept, assignment } : undefined;
  }
  if (expr.type === "call") {
    const fn = expr.childForFieldName("function");
    const frame = fn?.type === "attribute" ? fn.childForFieldName("object") : undefined;
    if (fn?.childForFieldName("attribute")?.text !== "drop" || frame?.type !== "identifier") return undefined;
    const args = expr.childForFieldName("arguments")?.namedChildren.filter((c): c is Node => !!c) ?? [];
    const kw = (name: string) =>
      args
        .find((a) => a.type === "keyword_argument" && a.childForFieldName("name")?.text === name)
        ?.childForFieldName("value");
    const positional = args.filter((a) => a.type !== "keyword_argument" && a.type !== "comment");
    if (args.some((a) => a.type === "list_splat" || a.type === "dictionary_splat")) return undefined;
    let cols: Node | null | undefined = kw("columns");
    if (!cols) {
      // `drop(labels, axis=1)`: without a column axis the labels name rows.
      const axis = literal(kw("axis") ?? positional[1]);
      const onColumns =
        axis &&
        ((axis.kind === "num" && axis.value === 1) || (axis.kind === "str" && axis.value === "columns"));
      if (!onColumns) return undefined;
      cols = kw("labels") ?? positional[0];
    }
    const dropped = columnList(py, cols, expr, true, consts);
    return dropped ? { frame: frame.text, expr, frameNode: frame, dropped, assignment } : undefined;
  }
  return undefined;
}

/** True when the frame may lose columns between the two statements (rebinding, in-place drop, pop, del). */
function frameChanged(py: PythonModel, text: string, frame: string, from: number, to: number): boolean {
  for (const a of py.assignments) {
    if (a.start >= to) break;
    if (a.start > from && a.targets.includes(frame)) return true;
  }
  const scopeStart = py.functionAt(to)?.start ?? 0;
  for (const c of py.calls) {
    if (c.start >= to) break;
    if (c.start < scopeStart || c.receiver?.text !== frame) continue;
    if (c.method === "pop" || (c.method === "drop" && c.keywords.has("inplace"))) return true;
  }
  return new RegExp(`\\bdel\\s+${frame}\\s*\\[`).test(text.slice(scopeStart, to));
}

/**
 * For `a, b, c, d = train_test_split(frame, frame[target])`: true when the split is of rows only,
 * its label outputs thrown away (`train, val, _, _ = ...`, the label read later from each part),
 * or when the feature outputs lose columns afterwards (`del X_train["y"]`, `X_train.pop("y")`,
 * `X_train.drop(...)`).
 */
function splitFixedAfterwards(py: PythonModel, text: string, call: CallSite): boolean {
  if (!call.is("sklearn.model_selection.train_test_split")) return false;
  const a = assignmentOf(py, call);
  if (!a || a.value?.id !== call.node.id || a.targets.length !== 4) return false;
  const [xTrain, xTest, yTrain, yTest] = a.targets;
  if (/^_/.test(yTrain) && /^_/.test(yTest)) return true;
  const end = py.functionAt(call)?.end ?? text.length;
  const after = text.slice(a.end, end);
  // `del X_train["y"]`, `X_train.pop("y")`, `X_train.drop(...)`, or columns picked from the part
  // afterwards (`X_train[features]`, `X_train.loc[:, cols]`): the split was of rows only.
  return [xTrain, xTest].some(
    (x) =>
      /^\w+$/.test(x) &&
      new RegExp(
        `\\bdel\\s+${x}\\s*\\[|(?<![\\w.])${x}\\s*\\.\\s*(pop|drop)\\s*\\(|(?<![\\w.])${x}\\s*(\\.\\s*loc\\s*)?\\[\\s*(:\\s*,\\s*)?["'\\[A-Za-z_]`,
      ).test(after),
  );
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  // A ColumnTransformer, or a formula (`smf.ols("y ~ x1 + x2", data=df)`), picks its own columns,
  // so a whole frame handed over is fine.
  if (py.calls.some((c) => c.is("sklearn.compose.*", "statsmodels.formula.api.*", "patsy.dmatrices"))) return;
  const reported = new Set<number>();
  let consts: Map<string, string> | undefined;
  for (const call of py.calls) {
    const pair = pairOf(call);
    if (!pair) continue;
    consts ??= stringConstants(py);
    const target = targetOf(py, pair[1], call, consts);
    if (!target) continue;
    const feats = featuresOf(py, pair[0], call, consts);
    if (!feats || feats.frame !== target.frame) continue;
    const leaks = feats.kept
      ? listHas(feats.kept, target.key)
      : feats.dropped
        ? listHas(feats.dropped, target.key) === false
        : true;
    if (leaks !== true) continue;
    const first = Math.min(feats.assignment?.start ?? call.start, target.assignment?.start ?? call.start);
    if (frameChanged(py, ctx.text, target.frame, first, call.start)) continue;
    if (!feats.kept && !feats.dropped && splitFixedAfterwards(py, ctx.text, call)) continue;
    const site = feats.assignment && onTriggerLine(ctx, feats.assignment.line) ? feats.assignment : call;
    if (!onTriggerLine(ctx, site.line) || reported.has(site.line)) continue;
    reported.add(site.line);
    const col = `column ${target.display}`;
    const how = feats.kept
      ? `the columns selected from \`${target.frame}\` include the target ${col}`
      : feats.dropped
        ? `the columns dropped from \`${target.frame}\` leave the target ${col} in`
        : `the features are the whole frame \`${target.frame}\`, which still holds the target ${col}`;
    const label = target.assignment ? ` (the label on line ${target.assignment.line})` : "";
    // The fix rewrites the frame where it is read, so only when that is the reported statement.
    // Not for `df[all_cols]`: the dropped frame would no longer have every column the list names.
    const whole =
      !feats.kept &&
      !feats.dropped &&
      feats.expr.type !== "subscript" &&
      (site === feats.assignment || !feats.assignment);
    ctx.report(site, {
      message:
        `Here ${how}${label}: the model can read the answer from its inputs, so its scores look far better than ` +
        `they will be on new data. Drop it, e.g. \`${target.frame}.drop(columns=[${target.display}])\`, and check ` +
        "for other columns computed from the target.",
      fix: whole
        ? {
            description: `Drop ${target.display} from the features`,
            edits: [{ at: feats.frameNode, text: `${target.frame}.drop(columns=[${target.display}])` }],
          }
        : undefined,
    });
  }
});
