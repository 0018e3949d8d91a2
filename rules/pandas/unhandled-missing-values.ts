import { isTestPath } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { constructorCall } from "../general/_lib.js";
import { ctorOf, isSupervisedClass, modelKind } from "../sklearn/_lib.js";

const READERS = [
  "pandas.read_csv",
  "pandas.read_table",
  "pandas.read_parquet",
  "pandas.read_excel",
  "pandas.read_json",
  "pandas.read_sql*",
  "pandas.read_feather",
];
const HANDLING = new Set([
  "fillna",
  "dropna",
  "interpolate",
  "isna",
  "isnull",
  "notna",
  "notnull",
  "ffill",
  "bfill",
  "nan_to_num",
]);
// Estimators that accept NaN natively (tree models in scikit-learn ≥ 1.4, gradient-boosting libraries).
const NAN_TOLERANT =
  /(HistGradientBoosting\w+|DecisionTree\w+|RandomForest\w+|ExtraTree\w*|^xgboost\.\S+|^lightgbm\.\S+|^catboost\.\S+)$/;

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path) || py.callsTo(...READERS).length === 0) return;
  if (py.calls.some((c) => c.method !== undefined && HANDLING.has(c.method))) return;
  if (py.callsTo("sklearn.impute.*", "sklearn.experimental.*").length > 0) return;
  for (const fit of py.methodCalls("fit")) {
    if (!ctx.isAdded(fit.line) || modelKind(py, fit) !== "supervised") continue;
    let ctor = ctorOf(py, fit.receiver, fit) ?? "";
    if (/Pipeline|make_pipeline/.test(ctor)) {
      // `make_pipeline(StandardScaler(), LogisticRegression())`: the estimator among its steps decides.
      const built = constructorCall(py, fit.receiver, fit);
      const step = built
        ? py
            .within(py.calls, built)
            .find(
              (c) =>
                c !== built &&
                c.name !== undefined &&
                !/Pipeline|make_pipeline/.test(c.name) &&
                isSupervisedClass(c.name),
            )
        : undefined;
      if (!step?.name) continue;
      ctor = step.name;
    }
    if (NAN_TOLERANT.test(ctor)) continue;
    ctx.report(fit, {
      message:
        `The data read with pandas reaches \`${ctor.split(".").pop()}.fit\` without any missing-value handling: ` +
        "NaNs make most scikit-learn estimators raise, and a `fillna`/`dropna` added later may silently change the " +
        "rows. Decide explicitly: check `df.isna().sum()`, then drop, fill or use a `SimpleImputer` in the pipeline.",
    });
    return;
  }
});
