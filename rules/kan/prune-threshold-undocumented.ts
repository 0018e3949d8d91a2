import { literal } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { kanOf } from "./_lib.js";

const THRESHOLDS = ["node_th", "edge_th", "threshold"];
// pykan's own defaults need no justification: `prune(node_th=1e-2, edge_th=3e-2)` (older
// `prune(threshold=1e-2)`), `prune_node(threshold=1e-2)`, `prune_edge(threshold=3e-2)`.
function defaultFor(method: string | undefined, key: string): number {
  return key === "edge_th" || (method === "prune_edge" && key === "threshold") ? 3e-2 : 1e-2;
}
// A comment this many lines above the call that talks about the threshold (or, further up, that
// quotes its value, as a notebook's markdown cell does) explains it.
const EXPLAIN_WINDOW = 12;
const VALUE_WINDOW = 25;
// After pruning, any of these measures what the pruned network lost. Retraining alone does not:
// `fit` tunes the pruned model, and its test loss counts only when the code reads it back.
const EVALUATES = /\b(evaluate|test_loss|test_rmse|test_acc\w*|score)\b|test_input|test_label|X_test|x_test/;

export default defineCheck((ctx) => {
  const { py } = ctx;
  for (const call of py.methodCalls("prune", "prune_node", "prune_edge")) {
    if (!kanOf(py, call)) continue;
    const given = THRESHOLDS.filter((k) => call.keywords.has(k)).map((k) => ({
      key: k,
      node: call.keywords.get(k)!,
    }));
    if (given.length === 0 && call.args[0]) given.push({ key: "threshold", node: call.args[0] });
    // Only literal thresholds that differ from pykan's defaults.
    const th = given.find(({ key, node }) => {
      const v = literal(node);
      return v?.kind === "num" && v.value !== defaultFor(call.method, key);
    })?.node;
    if (!th) continue;
    const thLine = th.startPosition.row + 1;
    const explained =
      [call.line - 1, call.line, thLine].some((n) => py.commentsOn(n).length > 0) ||
      explainedAbove(call.line, th.text);
    const evaluated = EVALUATES.test(ctx.text.slice(call.end));
    if (explained || evaluated) continue;
    ctx.report(th, {
      message:
        `The pruning threshold \`${th.text}\` is a bare number: nothing says how it was chosen, and the pruned KAN is ` +
        "never evaluated, so the cost of pruning is unknown. Note why this value (e.g. from a sweep of thresholds), " +
        "and measure the test loss after pruning.",
    });
  }

  /** A comment in the lines just above the call that names the threshold, or quotes its value. */
  function explainedAbove(line: number, value: string): boolean {
    const quoted = new RegExp(`(^|[^\\w.])${value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w.])`);
    return py.comments.some(
      (c) =>
        c.line < line &&
        ((c.line >= line - EXPLAIN_WINDOW && /thresh|\b(node|edge)_th\b/i.test(c.text)) ||
          (c.line >= line - VALUE_WINDOW && quoted.test(c.text))),
    );
  }
});
