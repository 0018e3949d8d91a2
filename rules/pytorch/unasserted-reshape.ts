import type { Node } from "web-tree-sitter";
import { numberValue } from "../../src/engine/python/helpers.js";
import type { FunctionDef, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";

const ASSERTS_SHAPE =
  /\bassert\b[^\n]*(\.shape\b|\.size\(|\.ndim\b|\.dim\(\)|\blen\()|\btorch\._assert\b|\bcheck_shape|\bassert_shape/;
const SHAPE_TEST = /\.shape\b|\.size\(|\.ndim\b|\.dim\(\)/;

/** The value of an integer literal or a product/sum of them (`16 * 5 * 5`), else undefined. */
function constantSize(node: Node): number | undefined {
  if (node.type === "integer") return numberValue(node);
  if (node.type === "parenthesized_expression" && node.namedChildren[0])
    return constantSize(node.namedChildren[0]);
  if (node.type === "binary_operator") {
    const l = node.childForFieldName("left");
    const r = node.childForFieldName("right");
    const a = l ? constantSize(l) : undefined;
    const b = r ? constantSize(r) : undefined;
    if (a === undefined || b === undefined) return undefined;
    switch (node.childForFieldName("operator")?.text) {
      case "*":
        return a * b;
      case "+":
        return a + b;
      case "//":
        return Math.floor(a / b);
      default:
        return undefined;
    }
  }
  return undefined;
}

/** The function checks shapes itself: an assert on `.shape`/`.size()`, a raise guarded by one, or einops. */
function checksShapes(py: PythonModel, fn: FunctionDef): boolean {
  if (ASSERTS_SHAPE.test(fn.body.text)) return true;
  if (py.callsIn(fn.body).some((c) => c.name?.startsWith("einops.") || c.is("torch._assert"))) return true;
  return py
    .within(py.ifs, fn)
    .some((i) => SHAPE_TEST.test(i.condition.text) && /\braise\b/.test(i.node.text));
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const reshapes = py.calls.filter(
    (c) =>
      (c.method === "view" || c.method === "reshape") && (c.receiver !== undefined || c.is("torch.reshape")),
  );
  if (reshapes.length === 0) return;
  const checked = new Map<FunctionDef, boolean>();
  for (const call of reshapes) {
    const fn = py.functionAt(call);
    if (fn?.name !== "forward") continue;
    let sizes = call.is("torch.reshape") ? call.args.slice(1) : call.args;
    if (sizes.length === 1 && (sizes[0].type === "tuple" || sizes[0].type === "list")) {
      sizes = sizes[0].namedChildren.filter((n): n is Node => n !== null && n.type !== "comment");
    }
    const fixed = sizes.map(constantSize).filter((v): v is number => v !== undefined && v >= 2);
    if (fixed.length < 2) continue;
    if (!checked.has(fn)) checked.set(fn, checksShapes(py, fn));
    if (checked.get(fn)) continue;
    ctx.report(call.callee.childForFieldName("attribute") ?? call, {
      message:
        `This ${call.method} hard-codes ${fixed.length} sizes (${fixed.join(", ")}) and nothing in \`forward\` checks the input's shape. ` +
        "If the input differs (another resolution, channel count or sequence length) the reshape can still succeed with the elements regrouped wrongly, mixing samples or channels silently. " +
        "Assert the expected shape first (`assert x.shape[1:] == (C, H, W)`) or use `einops.rearrange`, which checks the sizes it is given.",
    });
  }
});
