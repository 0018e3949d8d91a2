import type { Node } from "web-tree-sitter";
import { anyNameMatches } from "../../src/engine/names.js";
import { constructorOf } from "../../src/engine/python/flow.js";
import { dotted, namesIn, statementOf } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import {
  FIT_METHODS,
  isEstimatorClass,
  PREPROCESSORS,
  preprocessorOf as plainPreprocessorOf,
} from "../general/_lib.js";

// Shared pieces of the `sklearn` pack (not a rule: no YAML beside it).

export { isEstimatorClass };

/**
 * The class a receiver was built from: followed through assignments in its own scope, or, for
 * `self.model`, through `self.model = RandomForestClassifier()` in another method of the same class.
 */
export function ctorOf(py: PythonModel, recv: Node | null | undefined, at: CallSite): string | undefined {
  const ctor = constructorOf(py, recv ?? undefined, at);
  if (ctor) return ctor;
  // `clf = RandomForestClassifier().fit(X, y)`: `fit` and `set_params` return the estimator itself.
  let value: Node | null | undefined = recv;
  const name = recv ? dotted(recv) : undefined;
  if (name) {
    const a = py.lastAssignment(name, at);
    value = a?.op === "=" && a.targets.length === 1 ? a.value : undefined;
  }
  for (let hops = 0; value?.type === "call" && hops < 3; hops++) {
    const fn = value.childForFieldName("function");
    if (fn?.type !== "attribute" || !/^(fit|set_params)$/.test(fn.childForFieldName("attribute")?.text ?? ""))
      break;
    value = fn.childForFieldName("object");
    if (value?.type === "call") return py.resolve(value.childForFieldName("function") ?? value);
  }
  const text = recv ? dotted(recv) : undefined;
  const cls = py.classAt(at);
  if (!text?.startsWith("self.") || !cls) return undefined;
  let found: string | undefined;
  for (const a of py.assignments) {
    if (a.op !== "=" || a.targets.length !== 1 || a.targets[0].replace(/\s+/g, "") !== text) continue;
    if (py.classAt(a) !== cls || a.value?.type !== "call") continue;
    found = py.resolve(a.value.childForFieldName("function") ?? a.value);
  }
  return found;
}

/** The preprocessor class a fit call is made on (also `self.scaler` built in `__init__`), if it is one. */
export function preprocessorOf(py: PythonModel, call: CallSite): string | undefined {
  const plain = plainPreprocessorOf(py, call);
  if (plain || !call.method || !FIT_METHODS.includes(call.method) || call.receiver?.type !== "attribute")
    return plain;
  const ctor = ctorOf(py, call.receiver, call);
  return ctor && anyNameMatches(ctor, PREPROCESSORS) && /\.[A-Z_a-z]\w*$/.test(ctor) ? ctor : undefined;
}

/** What a data variable's name says it holds. */
export type DataRole = "train" | "test" | "val" | "trainval";

const TRAIN_TOKENS = new Set(["train", "tr", "trn", "training", "trainval", "trainvalid", "fit"]);
const TEST_TOKENS = new Set(["test", "tst", "te", "holdout", "heldout"]);
const VAL_TOKENS = new Set(["val", "va", "valid", "validation", "dev", "eval"]);
// Names built from held-out data on purpose: predictions fed to a stacker, out-of-fold scores.
const DERIVED_TOKENS = new Set([
  "pred",
  "preds",
  "prediction",
  "predictions",
  "proba",
  "probs",
  "oof",
  "meta",
  "blend",
  "score",
  "scores",
  "logits",
]);

function tokens(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1_$2") // `XTest` → `X_Test`
    .toLowerCase()
    .split(/[_\d]+/)
    .filter(Boolean);
}

/** The role a single identifier's name gives its data, if any (`X_test` → test, `Xtr` → train). */
export function nameRole(name: string): DataRole | "derived" | undefined {
  const compact = /^[xy](train|test|val|valid|tr|te)$/i.exec(name)?.[1]?.toLowerCase();
  const toks = compact ? [compact] : tokens(name);
  if (toks.some((t) => DERIVED_TOKENS.has(t))) return "derived";
  const train = toks.some((t) => TRAIN_TOKENS.has(t));
  const test = toks.some((t) => TEST_TOKENS.has(t));
  const val = toks.some((t) => VAL_TOKENS.has(t));
  if (train && (test || val)) return "trainval";
  if (train) return "train";
  if (test) return "test";
  if (val) return "val";
  return undefined;
}

/**
 * The role of the data an expression reads: its names' roles, following plain assignments
 * (`X_te = X_test`) for names that say nothing themselves. Any training name wins: data combined
 * from train and validation (`np.vstack([X_train, X_val])`) is a legitimate refit.
 */
export function dataRole(
  py: PythonModel,
  expr: Node | undefined,
  at: { start: number },
): DataRole | undefined {
  if (!expr) return undefined;
  const roles = new Set<DataRole | "derived">();
  const visit = (node: Node, pos: number, depth: number) => {
    for (const name of [...namesIn(node), ...attributeNames(node)]) {
      const role = nameRole(name);
      if (role) {
        roles.add(role);
        continue;
      }
      if (depth >= 3) continue;
      const a = py.lastAssignment(name, pos);
      const value = a?.op === "=" && a.targets.length === 1 ? a.value : undefined;
      if (value && value.type !== "call") visit(value, a!.start, depth + 1);
    }
  };
  visit(expr, at.start, 0);
  if (roles.has("derived") || roles.has("train") || roles.has("trainval")) {
    return roles.has("test") || roles.has("val") ? "trainval" : roles.has("train") ? "train" : undefined;
  }
  if (roles.has("test")) return "test";
  if (roles.has("val")) return "val";
  return undefined;
}

/** The attribute names an expression reads (`X_test` in `self.X_test`): they carry roles too. */
function attributeNames(node: Node): string[] {
  const out: string[] = [];
  const visit = (n: Node) => {
    if (n.type === "attribute") {
      const attr = n.childForFieldName("attribute");
      if (attr) out.push(attr.text);
    }
    for (const c of n.namedChildren) if (c) visit(c);
  };
  visit(node);
  return out;
}

/** The data argument of a fit / score / predict call (`X`, `x`, first positional). */
export function dataArg(call: CallSite): Node | undefined {
  return call.keywords.get("X") ?? call.keywords.get("x") ?? call.args[0];
}

/** The receiver's normalised text (`self.model`), or undefined when the call has none. */
export function receiverText(call: CallSite): string | undefined {
  return call.receiver?.text.replace(/\s+/g, "");
}

const LABEL_ENCODERS = [
  "sklearn.preprocessing.LabelEncoder",
  "sklearn.preprocessing.LabelBinarizer",
  "sklearn.preprocessing.MultiLabelBinarizer",
];

/** The class of a preprocessor (label encoders included) that this call fits, if it is one. */
export function fittedPreprocessor(py: PythonModel, call: CallSite): string | undefined {
  const prep = preprocessorOf(py, call);
  if (prep || (call.method !== "fit" && call.method !== "fit_transform")) return prep;
  const ctor = ctorOf(py, call.receiver, call);
  return ctor && anyNameMatches(ctor, LABEL_ENCODERS) ? ctor : undefined;
}

const SUPERVISED =
  /(Classifier|Regressor|Regression|SVC|SVR|NB|Boost\w*|Forest\w*|Tree\w*|Ridge\w*|Lasso\w*|ElasticNet\w*|Perceptron|Lars\w*|KNeighbors\w*|LGBM\w*|XGB\w*|CatBoost\w*|SGD\w*)$/;
const NOT_SUPERVISED = /(IsolationForest|RandomTreesEmbedding|OneClassSVM)$/;
const KERAS_MODELS = ["keras.Sequential", "keras.Model", "keras.models.Sequential", "keras.models.Model"];

/** True for a supervised estimator class (a classifier, regressor or `Pipeline`), by qualified name. */
export function isSupervisedClass(ctor: string): boolean {
  if (anyNameMatches(ctor, ["sklearn.pipeline.Pipeline", "sklearn.pipeline.make_pipeline"])) return true;
  return isEstimatorClass(ctor) && SUPERVISED.test(ctor) && !NOT_SUPERVISED.test(ctor);
}

/** The kind of model a receiver holds, when the file lets us tell. */
export function modelKind(py: PythonModel, call: CallSite): "supervised" | "search" | "keras" | undefined {
  const ctor = ctorOf(py, call.receiver, call);
  if (ctor) {
    if (anyNameMatches(ctor, ["sklearn.model_selection.*SearchCV", "skopt.BayesSearchCV"])) return "search";
    if (isSupervisedClass(ctor)) return "supervised";
    if (anyNameMatches(ctor, KERAS_MODELS)) return "keras";
    return undefined;
  }
  const recv = receiverText(call);
  if (recv && py.methodCalls("compile").some((c) => receiverText(c) === recv) && py.importsModule("keras"))
    return "keras";
  return undefined;
}

/** Calls that compute a metric from labels and predictions. */
export const METRIC_CALLS = [
  "sklearn.metrics.*",
  "sklearn.metrics.*.*",
  "torchmetrics.functional.*",
  "keras.metrics.*",
];

export function isMetricCall(call: CallSite): boolean {
  return (
    call.imported &&
    call.is(...METRIC_CALLS) &&
    /(_score|_error|_loss|accuracy|report|confusion_matrix|auc|_curve)$/.test(call.name ?? "")
  );
}

/** Evaluation methods of a fitted model. */
export const EVAL_METHODS = new Set(["score", "predict", "predict_proba", "predict_log_proba", "evaluate"]);

/** True when the statement holding `node` mentions training in its own words (`train_acc = …`, `"train"`). */
export function labelledAsTraining(node: Node, data: readonly string[]): boolean {
  let text = statementOf(node).text;
  for (const d of data) text = text.split(d).join("");
  return /train/i.test(text);
}

/** The first argument of `call` that is itself an evaluation call on a model (`m.predict(X)` in a metric). */
export function innerEval(py: PythonModel, call: CallSite): CallSite | undefined {
  for (let a of [...call.args, ...call.keywords.values()]) {
    // `m.predict_proba(X)[:, 1]`: the column of positive-class scores.
    while (a.type === "subscript" && a.childForFieldName("value")) a = a.childForFieldName("value")!;
    const inner = py.calls.find((c) => c.node.id === a.id);
    if (inner?.method && EVAL_METHODS.has(inner.method)) return inner;
  }
  return undefined;
}
