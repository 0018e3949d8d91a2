import type { Node } from "web-tree-sitter";
import { anyNameMatches } from "../../src/engine/names.js";
import { isTestPath, namesIn } from "../../src/engine/python/helpers.js";
import type { CallSite } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { ctorOf, dataArg, dataRole, modelKind, nameRole, preprocessorOf, receiverText } from "./_lib.js";

const FITS = ["fit", "fit_transform", "fit_predict", "fit_resample"];
// Fitted on held-out data by design: calibrating a prefit model, conformal wrappers.
const HELD_OUT_BY_DESIGN = [
  "sklearn.calibration.CalibratedClassifierCV",
  "sklearn.frozen.FrozenEstimator",
  "mapie.**",
  "crepes.**",
];
// Transformers whose `fit` learns nothing from the rows' values: fitting them on test data leaks nothing.
const STATELESS = [
  "sklearn.preprocessing.PolynomialFeatures",
  "sklearn.preprocessing.FunctionTransformer",
  "sklearn.preprocessing.Normalizer",
  "sklearn.preprocessing.Binarizer",
  "sklearn.feature_extraction.text.HashingVectorizer",
  "sklearn.feature_extraction.FeatureHasher",
];

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  for (const call of py.methodCalls(...FITS)) {
    const recv = receiverText(call);
    if (!recv || recv === "self" || /^super\(/.test(recv) || /calib|conformal/i.test(recv)) continue;
    const data = dataArg(call);
    let role = dataRole(py, data, call);
    // `scaler.fit(np.vstack([X_train, X_test]))`: a refit on train + validation is fine, but a preprocessor
    // that learns statistics from the test rows leaks them (category vocabularies of encoders aside).
    const combined = role === "trainval" && !!data && withTestRows(data) && !!preprocessorOf(py, call);
    if (combined && !/Encoder$/.test(preprocessorOf(py, call)!)) role = "test";
    if (role !== "test" && role !== "val") continue;
    const ctor = ctorOf(py, call.receiver, call);
    if (ctor && anyNameMatches(ctor, [...HELD_OUT_BY_DESIGN, ...STATELESS])) continue;
    // A hyperparameter search fitted on test data is tuning-on-test-set's finding, with its own advice.
    if (modelKind(py, call) === "search") continue;
    const what = role === "test" ? "test" : "validation";
    const prep = preprocessorOf(py, call);
    if (combined) {
      ctx.report(call, {
        message:
          `This ${prep!.split(".").pop()} is fitted on training and test rows together (\`${data!.text}\`), so ` +
          "statistics of the test set leak into the features and the test score is optimistic. Fit it on the " +
          "training split only, then `transform` the test data.",
      });
      continue;
    }
    const subject = prep ? `This ${prep.split(".").pop()}` : `\`${recv}\``;
    ctx.report(call, {
      message:
        `${subject} is fitted on ${what} data (\`${data!.text}\`), so what it learns comes from the rows meant to ` +
        `judge it and the ${what} score is optimistic. Fit on the training split only, then ` +
        `${prep ? "`transform`" : "`predict`/`score`"} the ${what} data.`,
      fix: transformFix(call, recv),
    });
  }

  /** `scaler.fit_transform(X_test)` after `scaler.fit(X_train)`: the fit is a slip for `transform`. */
  function transformFix(call: CallSite, recv: string) {
    if (call.method !== "fit_transform" || !preprocessorOf(py, call)) return undefined;
    const fittedOnTrain = py
      .methodCalls("fit", "fit_transform")
      .some(
        (c) =>
          c.end <= call.start &&
          receiverText(c) === recv &&
          py.functionAt(c) === py.functionAt(call) &&
          dataRole(py, dataArg(c), c) === "train",
      );
    const attr = call.callee.childForFieldName("attribute");
    if (!fittedOnTrain || !attr) return undefined;
    return {
      description: "Transform the held-out data with the scaler fitted on the training split",
      edits: [{ at: attr, text: "transform" }],
    };
  }
});

/** True when the expression names test rows itself (`X_test` in `np.concatenate([X_train, X_test])`). */
function withTestRows(data: Node): boolean {
  return [...namesIn(data)].some((n) => nameRole(n) === "test");
}
