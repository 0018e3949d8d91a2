import type { Node } from "web-tree-sitter";
import { assignmentOf, splitCalls, splitOutputs } from "../../src/engine/python/flow.js";
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
  nameRole,
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
  const done = new Set<number>(); // one finding per evaluation, however many fits precede it
  const evals = py.calls.filter((c) => c.method !== undefined && EVAL_METHODS.has(c.method));

  for (const fit of fits) {
    const recv = fittedName(fit);
    const fitData = norm(dataArg(fit))!;
    const scope = py.functionAt(fit);
    const mine = evals.filter(
      (e) =>
        // `LinearRegression().fit(X, y).score(X, y)`: scored straight on the fitted object.
        e.receiver?.id === fit.node.id ||
        (e.start > fit.end && receiverText(e) === recv && py.functionAt(e) === scope),
    );
    // Fitted on the whole `X` that a test split was carved from, then scored on that test split.
    const heldOut = testSplitsOf(dataArg(fit)!, fit);
    for (const e of mine) {
      const evalData = norm(dataArg(e));
      if (!evalData || !heldOut.has(evalData)) continue;
      const reported = e.method === "score" || e.method === "evaluate" ? e : metricAround(e);
      if (!reported) continue;
      if (done.has(reported.start)) continue;
      done.add(reported.start);
      ctx.report(reported, {
        message:
          `\`${recv}\` is fitted on \`${fitData}\`, the full data that \`${evalData}\` was split from, so the rows it is ` +
          "scored on were seen in training and the score is optimistic. Fit on the training split only.",
      });
    }
    if (heldOut.size > 0) continue;
    // Evaluated on other data too: the training score is there for comparison.
    if (mine.some((e) => norm(dataArg(e)) !== fitData)) continue;
    for (const e of mine) {
      const evalData = dataArg(e);
      if (norm(evalData) !== fitData) continue;
      const reported = e.method === "score" || e.method === "evaluate" ? e : metricAround(e);
      if (!reported) continue;
      // Predictions kept under a training name (`train_pred = model.predict(X_train)`) are a training score.
      if (reported !== e && /train/i.test(assignmentOf(py, e)?.targets[0] ?? "")) continue;
      const dataNames = [...namesIn(evalData!)];
      if (labelledAsTraining(reported.node, [fitData, ...dataNames, ...labelNames(reported)])) continue;
      if (done.has(reported.start)) continue;
      done.add(reported.start);
      ctx.report(reported, {
        message:
          `\`${recv}\` is scored on \`${fitData}\`, the same data it was fitted on, so this number measures ` +
          "memorisation rather than generalisation. Evaluate on a held-out split (or use cross-validation), " +
          "and if you want the training score too, name it as such (`train_score`).",
      });
    }
  }

  /** The name the fitted model goes by: `clf` in `clf.fit(X)` and in `clf = Model().fit(X)`. */
  function fittedName(fit: CallSite): string {
    if (fit.receiver?.type === "call") {
      const a = assignmentOf(py, fit);
      if (a && a.value?.id === fit.node.id && a.targets.length === 1) return a.targets[0];
    }
    return receiverText(fit)!;
  }

  /** Test-split names carved by `train_test_split` from `data` (a plain name not reassigned since). */
  function testSplitsOf(data: Node, fit: CallSite): Set<string> {
    const out = new Set<string>();
    if (data.type !== "identifier") return out;
    const last = py.lastAssignment(data.text, fit);
    for (const split of splitCalls(py)) {
      if (split.kind !== "train_test_split" || split.call.end > fit.start) continue;
      if (py.functionAt(split.call) !== py.functionAt(fit) || split.data[0]?.text !== data.text) continue;
      if (last && last.end > split.call.start) continue; // reassigned by the split itself, or later
      for (const name of splitOutputs(py, split)) {
        const role = nameRole(name);
        if (role === "test" || role === "val") out.add(name);
      }
    }
    return out;
  }

  /** The metric call that consumes a `predict(...)`, directly or through the variable it is assigned to. */
  function metricAround(e: CallSite): CallSite | undefined {
    const direct = py.calls.find((m) => isMetricCall(m) && innerEval(py, m) === e);
    if (direct) return direct;
    const a = assignmentOf(py, e);
    let value = a?.value;
    while (value?.type === "subscript" && value.childForFieldName("value"))
      value = value.childForFieldName("value")!;
    if (a?.targets.length !== 1 || value?.id !== e.node.id) return undefined;
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
