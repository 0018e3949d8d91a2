import { literal } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { kanOf } from "./_lib.js";

const THRESHOLDS = ["node_th", "edge_th", "threshold"];
// After pruning, any of these measures what the pruned network lost.
const EVALUATES =
  /\b(evaluate|test_loss|test_rmse|test_acc\w*|score)\b|\bfit\s*\(|\btrain\s*\(|test_input|test_label|X_test|x_test/;

export default defineCheck((ctx) => {
  const { py } = ctx;
  for (const call of py.methodCalls("prune", "prune_node", "prune_edge")) {
    if (!kanOf(py, call)) continue;
    const th =
      THRESHOLDS.map((k) => call.keywords.get(k)).find((n) => n !== undefined) ??
      (call.args[0] && literal(call.args[0])?.kind === "num" ? call.args[0] : undefined);
    if (!th || literal(th)?.kind !== "num") continue;
    const thLine = th.startPosition.row + 1;
    const explained = [call.line - 1, call.line, thLine].some((n) => py.commentsOn(n).length > 0);
    const evaluated = EVALUATES.test(ctx.text.slice(call.end));
    if (explained || evaluated) continue;
    ctx.report(th, {
      message:
        `The pruning threshold \`${th.text}\` is a bare number: nothing says how it was chosen, and the pruned KAN is ` +
        "never evaluated, so the cost of pruning is unknown. Note why this value (e.g. from a sweep of thresholds), " +
        "and measure the test loss after pruning.",
    });
  }
});
