import { anyNameMatches } from "../../src/engine/names.js";
import { stringValue } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import {
  CLASSIFIER,
  constructorCall,
  IMBALANCE_KEYWORDS,
  isEstimatorClass,
  methodLine,
  methodSite,
  objectConstructor,
  onTriggerLine,
  selfAttributeCall,
  TOY_BALANCED_DATASETS,
} from "./_lib.js";

const HANDLING_KEYWORDS: ReadonlySet<string> = new Set([...IMBALANCE_KEYWORDS, "class_weights", "sampler"]);
const HANDLING_CALLS = [
  "sklearn.utils.class_weight.*",
  "sklearn.utils.resample",
  "sklearn.model_selection.Stratified*",
  "torch.utils.data.WeightedRandomSampler",
  "imblearn.**",
  "torchvision.ops.sigmoid_focal_loss",
];
const PIPELINES = ["sklearn.pipeline.Pipeline", "sklearn.pipeline.make_pipeline"];
const SEARCHES = [
  "sklearn.model_selection.GridSearchCV",
  "sklearn.model_selection.RandomizedSearchCV",
  "sklearn.model_selection.HalvingGridSearchCV",
  "sklearn.model_selection.HalvingRandomSearchCV",
];
const KERAS_CLASSIFICATION_LOSS = /crossentropy|CrossEntropy|hinge/;

/** Anything in the file that deals with class balance, or makes it moot. */
function handled(py: PythonModel): boolean {
  if (py.importsModule("imblearn")) return true;
  return py.calls.some(
    (c) =>
      [...c.keywords.keys()].some((k) => HANDLING_KEYWORDS.has(k)) ||
      c.is(...HANDLING_CALLS, ...TOY_BALANCED_DATASETS) ||
      (c.method !== undefined &&
        /class_weight|sample_weight|oversampl|undersampl|resampl|focal/i.test(c.method)),
  );
}

/** Fits that train a classifier: a sklearn-style classifier, or a Keras model compiled with a classification loss. */
function classifierFits(py: PythonModel): CallSite[] {
  const kerasClassifier = py.methodCalls("compile").some((c) => {
    const loss = c.keywords.get("loss");
    return loss !== undefined && KERAS_CLASSIFICATION_LOSS.test(stringValue(loss) ?? loss.text);
  });
  return py.methodCalls("fit").filter((c) => {
    const wrapper = constructorCall(py, c.receiver, c);
    if (wrapper?.is(...SEARCHES)) {
      // `GridSearchCV(RandomForestClassifier(), grid).fit(X, y)` trains the estimator it is handed.
      const est = constructorCall(py, wrapper.arg("estimator", 0), wrapper);
      if (!est) return false;
      if (isEstimatorClass(est.name))
        return CLASSIFIER.test(est.name!) && !anyNameMatches(est.name, ["imblearn.**"]);
      return (
        est.is(...PIPELINES) &&
        py
          .within(py.calls, est)
          .some((s) => s !== est && isEstimatorClass(s.name) && CLASSIFIER.test(s.name!))
      );
    }
    const ctor = objectConstructor(py, c.receiver, c);
    if (ctor && anyNameMatches(ctor, PIPELINES)) {
      // `make_pipeline(StandardScaler(), LogisticRegression())`: the last step is what is trained.
      const built = constructorCall(py, c.receiver, c) ?? selfAttributeCall(py, c.receiver, c);
      return (
        built !== undefined &&
        py
          .within(py.calls, built)
          .some((s) => s !== built && isEstimatorClass(s.name) && CLASSIFIER.test(s.name!))
      );
    }
    if (isEstimatorClass(ctor)) return CLASSIFIER.test(ctor!) && !anyNameMatches(ctor, ["imblearn.**"]);
    // A Keras model, built in place or by a local function.
    const kerasModel = !ctor || /^keras\./.test(ctor) || !ctor.includes(".");
    return kerasClassifier && kerasModel && py.importsModule("keras", "tensorflow") && c.args.length >= 2;
  });
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const fits = classifierFits(py);
  const first = fits.find((c) => ctx.isAdded(methodLine(c)) && onTriggerLine(ctx, methodLine(c)));
  if (!first || handled(py)) return;
  ctx.report(methodSite(first), {
    message:
      "This classifier is trained with nothing that accounts for class imbalance: no `class_weight`, stratified " +
      "split, weighted sampler, `pos_weight` or resampling. If one class is rare the model can score well by " +
      'mostly predicting the majority class. Check the class counts; if they are skewed use `class_weight="balanced"` ' +
      "(or `sample_weight`, `scale_pos_weight`, a `WeightedRandomSampler`), `stratify=y` when splitting, and " +
      "report per-class metrics.",
  });
});
