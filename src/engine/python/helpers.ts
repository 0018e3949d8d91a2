import type { Node } from "web-tree-sitter";
import type { Span } from "./model.js";

// Small questions checks ask about Python syntax, answered without walking whole trees.

export type Literal =
  | { kind: "str"; value: string }
  | { kind: "num"; value: number; text: string }
  | { kind: "bool"; value: boolean }
  | { kind: "none" }
  | { kind: "list"; items: (Literal | undefined)[] };

const STRING_PREFIX = /^([rRbBuU]{0,2})(['"]{3}|['"])/;

/**
 * The value of a literal expression, or undefined when it is not a literal (names, calls,
 * f-strings with interpolations). Negative numbers (`-1`) count as literals.
 */
export function literal(node: Node | null | undefined): Literal | undefined {
  if (!node) return undefined;
  switch (node.type) {
    case "string": {
      if (node.namedChildren.some((c) => c?.type === "interpolation")) return undefined;
      const text = node.text;
      const m = STRING_PREFIX.exec(text);
      if (!m) {
        // f-string without interpolation, or an unusual prefix: fall back to stripping quotes.
        const q = /^[A-Za-z]*(['"]{3}|['"])/.exec(text);
        if (!q) return undefined;
        return { kind: "str", value: text.slice(q[0].length, text.length - q[1].length) };
      }
      return { kind: "str", value: text.slice(m[0].length, text.length - m[2].length) };
    }
    case "concatenated_string": {
      let value = "";
      for (const part of node.namedChildren) {
        const lit = literal(part);
        if (lit?.kind !== "str") return undefined;
        value += lit.value;
      }
      return { kind: "str", value };
    }
    case "integer":
    case "float": {
      const text = node.text.replace(/_/g, "");
      const value = Number(text);
      return Number.isNaN(value) ? undefined : { kind: "num", value, text: node.text };
    }
    case "unary_operator": {
      const operand = literal(node.childForFieldName("argument"));
      const op = node.childForFieldName("operator")?.text;
      if (operand?.kind === "num" && (op === "-" || op === "+")) {
        return { kind: "num", value: op === "-" ? -operand.value : operand.value, text: node.text };
      }
      return undefined;
    }
    case "true":
      return { kind: "bool", value: true };
    case "false":
      return { kind: "bool", value: false };
    case "none":
      return { kind: "none" };
    case "list":
    case "tuple":
      return {
        kind: "list",
        items: node.namedChildren.filter((c) => c?.type !== "comment").map((c) => literal(c)),
      };
    case "parenthesized_expression":
      return literal(node.namedChildren[0]);
    default:
      return undefined;
  }
}

/** The string value of a literal string node, else undefined. */
export function stringValue(node: Node | null | undefined): string | undefined {
  const lit = literal(node);
  return lit?.kind === "str" ? lit.value : undefined;
}

/** The numeric value of a literal number node, else undefined. */
export function numberValue(node: Node | null | undefined): number | undefined {
  const lit = literal(node);
  return lit?.kind === "num" ? lit.value : undefined;
}

/** True for the literal `True`, False for `False`, undefined for anything else. */
export function boolValue(node: Node | null | undefined): boolean | undefined {
  const lit = literal(node);
  return lit?.kind === "bool" ? lit.value : undefined;
}

/** A literal as compact text for comparisons: strings unquoted, numbers as written, `True`/`False`/`None`. */
export function literalText(lit: Literal | undefined): string | undefined {
  if (!lit) return undefined;
  switch (lit.kind) {
    case "str":
      return lit.value;
    case "num":
      return lit.text;
    case "bool":
      return lit.value ? "True" : "False";
    case "none":
      return "None";
    case "list":
      return undefined;
  }
}

/** Ancestors of `node`, nearest first, stopping before `stop` types if given. */
export function ancestors(node: Node): Node[] {
  const out: Node[] = [];
  for (let p = node.parent; p; p = p.parent) out.push(p);
  return out;
}

/** The nearest ancestor (or the node itself) of one of the given types. */
export function closest(node: Node, ...types: string[]): Node | undefined {
  for (let p: Node | null = node; p; p = p.parent) if (types.includes(p.type)) return p;
  return undefined;
}

const BLOCK_PARENTS = new Set(["block", "module"]);

/** The statement that contains `node`: the ancestor whose parent is a block or the module. */
export function statementOf(node: Node): Node {
  let cur = node;
  while (cur.parent && !BLOCK_PARENTS.has(cur.parent.type)) cur = cur.parent;
  return cur;
}

/** True when `a` ends before `b` starts. */
export function before(a: Span | Node, b: Span | Node): boolean {
  return endOf(a) <= startOf(b);
}

export function startOf(x: Span | Node): number {
  return "startIndex" in x ? x.startIndex : x.start;
}

export function endOf(x: Span | Node): number {
  return "endIndex" in x ? x.endIndex : x.end;
}

/** True when `inner` lies within `outer` (inclusive). */
export function isWithin(inner: Span | Node, outer: Span | Node): boolean {
  return startOf(outer) <= startOf(inner) && endOf(inner) <= endOf(outer);
}

/** Identifiers read in an expression (names only, attribute roots included: `a.b[c]` → a, c). */
export function namesIn(node: Node): Set<string> {
  const out = new Set<string>();
  const visit = (n: Node) => {
    if (n.type === "identifier") {
      const parent = n.parent;
      // `obj.attr`: only the object part is a name read here.
      if (parent?.type === "attribute" && parent.childForFieldName("attribute")?.id === n.id) return;
      if (parent?.type === "keyword_argument" && parent.childForFieldName("name")?.id === n.id) return;
      out.add(n.text);
      return;
    }
    for (const c of n.namedChildren) if (c) visit(c);
  };
  visit(node);
  return out;
}

/** The dotted text of an expression with whitespace removed (`self . model` → `self.model`). */
export function dotted(node: Node | null | undefined): string | undefined {
  if (!node) return undefined;
  const text = node.text.replace(/\s+/g, "");
  return /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$/.test(text) ? text : undefined;
}

/** A path that looks like a test module: `tests/…`, `test_*.py`, `*_test.py`, `conftest.py`. */
export function isTestPath(path: string): boolean {
  return /(^|\/)(tests?|testing)\/|(^|\/)test_[^/]*\.py$|_test\.py$|(^|\/)conftest\.py$/.test(path);
}
