import { assignmentOf } from "../../src/engine/python/flow.js";
import { isTestPath } from "../../src/engine/python/helpers.js";
import type { CallSite, Loop } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { dataArg, dataRole, isMetricCall, modelKind } from "./_lib.js";

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  const reported = new Set<number>();
  const report = (call: CallSite, message: string) => {
    if (reported.has(call.start)) return;
    reported.add(call.start);
    ctx.report(call, { message });
  };

  // A search object fitted on the test split.
  for (const fit of py.methodCalls("fit")) {
    if (modelKind(py, fit) !== "search" || dataRole(py, dataArg(fit), fit) !== "test") continue;
    report(
      fit,
      `This hyperparameter search is fitted on test data (\`${dataArg(fit)!.text}\`): the test set chooses the ` +
        "hyperparameters, so its score no longer estimates performance on new data. Fit the search on the " +
        "training split (its internal CV does the validation) and score the best model on the test set once.",
    );
  }

  // An Optuna objective (takes `trial`) that scores on the test split.
  for (const fn of py.functions) {
    if (!fn.explicitParams.some((p) => p.name === "trial")) continue;
    if (!py.callsIn(fn.body).some((c) => c.receiver?.text === "trial" && /^suggest_/.test(c.method ?? "")))
      continue;
    for (const e of testEvaluations(py.callsIn(fn.body)))
      report(
        e,
        "This tuning objective is scored on the test set, so the study picks the hyperparameters that fit the " +
          "test data and the final test score is optimistic. Score trials on a validation split or with " +
          "cross-validation on the training data, and evaluate the chosen model on the test set once at the end.",
      );
  }

  // A loop over candidate settings that keeps whichever scores best on the test set.
  for (const loop of py.loops) {
    if (loop.kind !== "for" || /epoch/i.test(loop.target?.text ?? "")) continue;
    const calls = py.callsIn(loop.node);
    if (!calls.some((c) => c.method === "fit")) continue;
    for (const e of testEvaluations(calls)) {
      if (py.loopsAt(e)[0] !== loop || !selectsBest(loop, e)) continue;
      report(
        e,
        "Candidates are compared on the test set inside this loop, so the test set picks the winner and its score " +
          "is no longer an unbiased estimate. Compare candidates on a validation split or with cross-validation, " +
          "and touch the test set once, for the chosen model.",
      );
    }
  }

  /** Scores, evaluations and metrics computed on test-role data. */
  function testEvaluations(calls: CallSite[]): CallSite[] {
    return calls.filter((c) => {
      if (c.method === "score" || c.method === "evaluate")
        return modelKind(py, c) !== undefined && dataRole(py, dataArg(c), c) === "test";
      if (isMetricCall(c))
        return [...c.args, ...c.keywords.values()].some((a) => dataRole(py, a, c) === "test");
      return false;
    });
  }

  /** The loop keeps a running best, or branches on the score it just computed. */
  function selectsBest(loop: Loop, e: CallSite): boolean {
    const scoreName = assignmentOf(py, e)?.targets[0];
    if (py.assignmentsIn(loop.node).some((a) => a.targets.some((t) => /best/i.test(t)))) return true;
    return py.ifs.some(
      (i) =>
        loop.start < i.start &&
        i.end <= loop.end &&
        (/best/i.test(i.condition.text) ||
          (!!scoreName && new RegExp(`\\b${scoreName}\\b`).test(i.condition.text))),
    );
  }
});
