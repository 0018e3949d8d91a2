import type { Node } from "web-tree-sitter";
import { assignmentOf } from "../../src/engine/python/flow.js";
import { isTestPath, namesIn } from "../../src/engine/python/helpers.js";
import type { CallSite } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import {
  dataArg,
  EVAL_METHODS,
  innerEval,
  isMetricCall,
  labelledAsTraining,
  modelKind,
  receiverText,
} from "./_lib.js";

const norm = (n: Node | undefined) => n?.text.replace(/\s+/g, "");

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  const fits = py.methodCalls("fit").filter((c) => {
    const kind = modelKind(py, c);
    return (kind === "supervised" || kind === "keras") && dataArg(c) !== undefined;
  });
  if (fits.length === 0) return;
  const evals = py.calls.filter((c) => c.method !== undefined && EVAL_METHODS.has(c.method));

  for (const fit of fits) {
    const recv = receiverText(fit)!;
    const fitData = norm(dataArg(fit))!;
    const scope = py.functionAt(fit);
    const mine = evals.filter(
      (e) => e.start > fit.end && receiverText(e) === recv && py.functionAt(e) === scope,
    );
    // Evaluated on other data too: the training score is there for comparison.
    if (mine.some((e) => norm(dataArg(e)) !== fitData)) continue;
    for (const e of mine) {
      const evalData = dataArg(e);
      if (norm(evalData) !== fitData) continue;
      const reported = e.method === "score" || e.method === "evaluate" ? e : metricAround(e);
      if (!reported) continue;
      const dataNames = [...namesIn(evalData!)];
      if (labelledAsTraining(reported.node, [fitData, ...dataNames, ...labelNames(reported)])) continue;
      ctx.report(reported, {
        message:
          `\`${recv}\` is scored on \`${fitData}\`, the same data it was fitted on, so this number measures ` +
          "memorisation rather than generalisation. Evaluate on a held-out split (or use cross-validation), " +
          "and if you want the training score too, name it as such (`train_score`).",
      });
    }
  }

  /** The metric call that consumes a `predict(...)`, directly or through the variable it is assigned to. */
  function metricAround(e: CallSite): CallSite | undefined {
    const direct = py.calls.find((m) => isMetricCall(m) && innerEval(py, m) === e);
    if (direct) return direct;
    const a = assignmentOf(py, e);
    if (!a || a.targets.length !== 1 || a.value?.id !== e.node.id) return undefined;
    const name = a.targets[0];
    return py.calls.find(
      (m) =>
        m.start > a.end &&
        isMetricCall(m) &&
        py.functionAt(m) === py.functionAt(e) &&
        [...m.args, ...m.keywords.values()].some((arg) => arg.text === name),
    );
  }

  /** Label arguments (`y_train`) are data names too: they must not count as "training" wording. */
  function labelNames(call: CallSite): string[] {
    return [...call.args, ...call.keywords.values()].flatMap((a) => [...namesIn(a)]);
  }
});
