import { isTestPath } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { modelKind, preprocessorOf } from "./_lib.js";

const PIPELINE_BUILDERS = [
  "sklearn.pipeline.*",
  "sklearn.compose.ColumnTransformer",
  "sklearn.compose.make_column_transformer",
  "imblearn.pipeline.*",
];

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path) || py.callsTo(...PIPELINE_BUILDERS).length > 0) return;
  const steps = py.methodCalls("fit_transform").filter((c) => preprocessorOf(py, c) !== undefined);
  if (steps.length < 2) return;
  for (const [i, first] of steps.entries()) {
    const scope = py.functionAt(first);
    const same = steps.slice(i).filter((s) => py.functionAt(s) === scope);
    if (same.length < 2) continue;
    const last = same[same.length - 1];
    const model = py
      .methodCalls("fit")
      .find((f) => f.start > last.end && py.functionAt(f) === scope && modelKind(py, f) === "supervised");
    if (!model) continue;
    const names = same.map((s) => preprocessorOf(py, s)!.split(".").pop()).join(", ");
    ctx.report(first, {
      message:
        `${same.length} preprocessing steps (${names}) are fitted by hand before the model on line ${model.line}. ` +
        "Put them and the model in one `Pipeline` (with a `ColumnTransformer` for per-column steps): it applies " +
        "the same fitted steps at prediction time, fits them per fold in cross-validation, and saves as one object.",
    });
    return;
  }
});
