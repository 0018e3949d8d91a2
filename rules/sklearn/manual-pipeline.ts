import { anyNameMatches } from "../../src/engine/names.js";
import { isTestPath } from "../../src/engine/python/helpers.js";
import type { CallSite } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { ctorOf, dataArg, dataRole, modelKind, preprocessorOf, receiverText } from "./_lib.js";

const PIPELINE_BUILDERS = [
  "sklearn.pipeline.*",
  "sklearn.compose.ColumnTransformer",
  "sklearn.compose.make_column_transformer",
  "imblearn.pipeline.*",
];

// Transformers that learn little or nothing in `fit` are still steps a `Pipeline` should hold.
const STATELESS_STEPS = [
  "sklearn.preprocessing.PolynomialFeatures",
  "sklearn.preprocessing.FunctionTransformer",
  "sklearn.preprocessing.Normalizer",
  "sklearn.preprocessing.Binarizer",
  "sklearn.feature_extraction.text.HashingVectorizer",
];

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path) || py.callsTo(...PIPELINE_BUILDERS).length > 0) return;
  // Steps fitted on training features: a refit on test data is fit-on-test-data's finding, and a
  // scaler of the target is not a feature step.
  const stepOf = (c: CallSite) => {
    const prep = preprocessorOf(py, c);
    if (prep) return prep;
    const ctor = ctorOf(py, c.receiver, c);
    return ctor && anyNameMatches(ctor, STATELESS_STEPS) ? ctor : undefined;
  };
  const steps = py.methodCalls("fit_transform").filter((c) => {
    if (stepOf(c) === undefined) return false;
    const data = dataArg(c);
    const role = dataRole(py, data, c);
    return role !== "test" && role !== "val" && !(data && isTarget(data.text));
  });
  if (steps.length < 2) return;
  for (const [i, first] of steps.entries()) {
    const scope = py.functionAt(first);
    // One scaler applied to several splits or folds is one step, not a chain.
    const seen = new Set<string>();
    const same = steps.slice(i).filter((s) => {
      if (py.functionAt(s) !== scope) return false;
      const key = s.receiver?.type === "call" ? `@${s.start}` : (receiverText(s) ?? `@${s.start}`);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (same.length < 2) continue;
    const last = same[same.length - 1];
    const model = py
      .methodCalls("fit")
      .find((f) => f.start > last.end && py.functionAt(f) === scope && modelKind(py, f) === "supervised");
    if (!model) continue;
    const names = same.map((s) => stepOf(s)!.split(".").pop()).join(", ");
    ctx.report(first, {
      message:
        `${same.length} preprocessing steps (${names}) are fitted by hand before the model on line ${model.line}. ` +
        "Put them and the model in one `Pipeline` (with a `ColumnTransformer` for per-column steps): it applies " +
        "the same fitted steps at prediction time, fits them per fold in cross-validation, and saves as one object.",
    });
    return;
  }
});

/** True when an expression is a plain name for labels rather than features (`y_train`, `yTest`, `train_y`, `labels`). */
function isTarget(text: string): boolean {
  return /^[yY](_\w*|[A-Z]\w*|\d*)$|^\w+_[yY]$|^(labels?|targets?)(_\w+)?$/.test(text.replace(/\s+/g, ""));
}
