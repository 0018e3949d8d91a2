import { assignmentOf, constructorOf, splitCalls } from "../../src/engine/python/flow.js";
import { isTestPath } from "../../src/engine/python/helpers.js";
import type { CallSite } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { dataArg, dataRole, EVAL_METHODS, isMetricCall, modelKind, receiverText } from "./_lib.js";

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  const splits = splitCalls(py);
  if (splits.some((s) => s.kind !== "train_test_split")) return;
  const split = splits.find((s) => ctx.isAdded(s.call.line));
  if (!split) return;
  const fits = py.methodCalls("fit").filter((f) => modelKind(py, f) === "supervised");
  // Selection: several candidate models, or one model refitted in a loop over settings.
  // `rf = Pipeline([...]).fit(X, y)` refits the model named `rf`, it is not another candidate.
  const key = (f: CallSite) => {
    if (f.receiver?.type !== "call") return receiverText(f);
    const a = assignmentOf(py, f);
    if (a && a.value?.id === f.node.id && a.targets.length === 1) return a.targets[0];
    return constructorOf(py, f.receiver, f) ?? receiverText(f);
  };
  const candidates = new Set(fits.map(key));
  const inLoop = fits.some((f) => py.loopsAt(f).some((l) => !/epoch/i.test(l.target?.text ?? "")));
  if (candidates.size < 2 && !inLoop) return;
  // Compared means scored on held-out rows: a score, prediction or metric on test or validation data.
  const heldOut = py.calls.some((c) => {
    if (c.method && EVAL_METHODS.has(c.method)) {
      const role = dataRole(py, dataArg(c), c);
      return role === "test" || role === "val";
    }
    return (
      isMetricCall(c) &&
      [...c.args, ...c.keywords.values()].some((a) => ["test", "val"].includes(dataRole(py, a, c) ?? ""))
    );
  });
  if (!heldOut) return;
  ctx.report(split.call, {
    message:
      "Models are compared on this single train/test split, so the choice can hinge on which rows landed in the " +
      "test set. Compare candidates with cross-validation on the training data (`cross_val_score`, " +
      "`cross_validate`, or a `GridSearchCV`) and keep the test set for the final estimate.",
  });
});
