import type { Node } from "web-tree-sitter";
import { anyNameMatches } from "../../src/engine/names.js";
import { constructorOf } from "../../src/engine/python/flow.js";
import type { CallSite, Loop, PythonModel, Span } from "../../src/engine/python/model.js";
import type { CheckContext } from "../../src/engine/rule.js";
import { onTriggerLine } from "../../src/engine/rule.js";

// Shared pieces of the `general` pack (not a rule: no YAML beside it).

// Reports land on trigger lines; the engine's check reads import aliases.
export { onTriggerLine };

/** Where to report a method call: its name (`fit` in a multi-line `Scaler(...)\n.fit(X)`), else the call. */
export function methodSite(call: CallSite): Node | CallSite {
  return (call.callee.type === "attribute" ? call.callee.childForFieldName("attribute") : null) ?? call;
}

/** The line `methodSite` reports on. */
export function methodLine(call: CallSite): number {
  const site = methodSite(call);
  return "startPosition" in site ? site.startPosition.row + 1 : site.line;
}

/** The first candidate on an added line that matches a trigger (for once-per-file findings). */
export function firstReportable<T extends { line: number }>(ctx: CheckContext, list: T[]): T | undefined {
  return list.find((x) => ctx.isAdded(x.line) && onTriggerLine(ctx, x.line));
}

// ---- estimators and preprocessors ------------------------------------------------------------

export const PREPROCESSORS = [
  "sklearn.preprocessing.StandardScaler",
  "sklearn.preprocessing.MinMaxScaler",
  "sklearn.preprocessing.RobustScaler",
  "sklearn.preprocessing.MaxAbsScaler",
  "sklearn.preprocessing.QuantileTransformer",
  "sklearn.preprocessing.PowerTransformer",
  "sklearn.preprocessing.OneHotEncoder",
  "sklearn.preprocessing.OrdinalEncoder",
  "sklearn.preprocessing.TargetEncoder",
  "sklearn.preprocessing.KBinsDiscretizer",
  "sklearn.preprocessing.SplineTransformer",
  "sklearn.impute.*",
  "sklearn.decomposition.*",
  "sklearn.feature_selection.*",
  "sklearn.feature_extraction.text.CountVectorizer",
  "sklearn.feature_extraction.text.TfidfVectorizer",
  "sklearn.feature_extraction.text.TfidfTransformer",
  "sklearn.compose.ColumnTransformer",
  "sklearn.compose.make_column_transformer",
  "category_encoders.*",
  "keras.layers.Normalization",
  "keras.layers.TextVectorization",
  "keras.layers.StringLookup",
  "keras.layers.IntegerLookup",
  "keras.layers.Discretization",
  "keras.layers.experimental.preprocessing.*",
  "keras.preprocessing.text.Tokenizer",
  "keras.src.legacy.preprocessing.text.Tokenizer",
];

/** Methods that fit a preprocessor's state on data. */
export const FIT_METHODS = ["fit", "fit_transform", "fit_on_texts", "adapt"];

/** The preprocessor class a fit call is made on, or undefined when it is not (known to be) one. */
export function preprocessorOf(py: PythonModel, call: CallSite): string | undefined {
  if (!call.method || !FIT_METHODS.includes(call.method)) return undefined;
  const ctor = constructorOf(py, call.receiver, call);
  return ctor && anyNameMatches(ctor, PREPROCESSORS) && /\.[A-Z_a-z]\w*$/.test(ctor) ? ctor : undefined;
}

const ESTIMATOR_MODULES =
  /^(sklearn\.(?!preprocessing|impute|decomposition|feature_selection|feature_extraction|compose|model_selection|pipeline|metrics)|xgboost\.|lightgbm\.|catboost\.)/;

/**
 * The constructor call that built `self.x`, when the class sets that attribute in one place only, to a
 * call (`self.model = SVC()` in `__init__`, fitted in `train`).
 */
export function selfAttributeCall(py: PythonModel, node: Node | undefined, at: Span): CallSite | undefined {
  if (node?.type !== "attribute" || node.childForFieldName("object")?.text !== "self") return undefined;
  const cls = py.classAt(at);
  if (!cls) return undefined;
  const target = node.text.replace(/\s+/g, "");
  const sets = py.assignments.filter(
    (a) => a.targets.length === 1 && a.targets[0] === target && py.classAt(a) === cls,
  );
  const value = sets.length === 1 && sets[0].op === "=" ? sets[0].value : undefined;
  if (value?.type !== "call") return undefined;
  return py.calls.find((c) => c.node.id === value.id);
}

/** What built the object `node` names, as `constructorOf`, and also through `selfAttributeCall`. */
export function objectConstructor(py: PythonModel, node: Node | undefined, at: Span): string | undefined {
  const direct = constructorOf(py, node, at);
  if (direct) return direct;
  const call = selfAttributeCall(py, node, at);
  return call ? py.resolve(call.callee) : undefined;
}

/** True for a model class of sklearn / xgboost / lightgbm / catboost (not a transformer or splitter). */
export function isEstimatorClass(name: string | undefined): boolean {
  return !!name && ESTIMATOR_MODULES.test(name) && /\.[A-Z]\w*$/.test(name);
}

export const CLASSIFIER = /(Classifier|LogisticRegression\w*|\.SVC|\.LinearSVC|\.NuSVC|NB|Perceptron)$/;

// ---- training sites --------------------------------------------------------------------------

export interface TrainingSite {
  kind: "loop" | "keras" | "estimator" | "lightning" | "hf";
  /** Where a finding about the run goes (the `for epoch` line, the `.fit(` call). */
  at: Span;
  call?: CallSite;
  loop?: Loop;
}

const TRAIN_CALL = /^(backward|step|fit|train_one_epoch|train_epoch|run_epoch|train_step)$|^train/;

/** An epoch loop: `for epoch in range(...)` (or its iterable names epochs) that trains inside. */
export function isEpochLoop(py: PythonModel, loop: Loop): boolean {
  if (loop.kind !== "for") return false;
  const head = `${loop.target?.text ?? ""} ${loop.iter?.text ?? ""}`;
  if (!/epoch/i.test(head)) return false;
  return py.within(py.calls, loop).some((c) => c.method !== undefined && TRAIN_CALL.test(c.method));
}

/** Every place the file trains a model, in source order. */
export function trainingSites(py: PythonModel): TrainingSite[] {
  const out: TrainingSite[] = [];
  const epochLoops = py.loops.filter((l) => isEpochLoop(py, l));
  // Only the outermost epoch loop counts.
  for (const l of epochLoops)
    if (!epochLoops.some((o) => o !== l && o.start < l.start && l.end <= o.end))
      out.push({ kind: "loop", at: l, loop: l });
  const usesKeras = py.importsModule("keras", "tensorflow");
  for (const call of py.methodCalls("fit", "train")) {
    const ctor = constructorOf(py, call.receiver, call);
    if (call.method === "fit") {
      if (ctor && anyNameMatches(ctor, ["lightning.pytorch.Trainer"]))
        out.push({ kind: "lightning", at: call, call });
      else if (isEstimatorClass(ctor)) out.push({ kind: "estimator", at: call, call });
      else if (usesKeras && (call.keywords.has("epochs") || (ctor && /^keras\./.test(ctor))))
        out.push({ kind: "keras", at: call, call });
    } else if (
      ctor &&
      anyNameMatches(ctor, ["transformers.Trainer", "transformers.Seq2SeqTrainer", "trl.*Trainer"])
    ) {
      out.push({ kind: "hf", at: call, call });
    }
  }
  return out.sort((a, b) => a.at.start - b.at.start);
}

// ---- metrics ------------------------------------------------------------------------------------

/** Other metrics next to accuracy that account for class imbalance. */
export const IMBALANCE_AWARE =
  /\b(f1_score|fbeta_score|f1|F1Score|FBetaScore|precision_score|recall_score|precision_recall\w*|Precision|Recall|roc_auc_score|roc_curve|AUROC|AUC|auc|average_precision_score|AveragePrecision|balanced_accuracy_score|classification_report|matthews_corrcoef|MatthewsCorrCoef|cohen_kappa_score|CohenKappa|confusion_matrix|ConfusionMatrix)\b|["'](f1|precision|recall|auc|roc_auc|AUC|balanced_accuracy|average_precision|f1_macro|f1_weighted|pr_auc)["']/;

/** Arguments that only make sense when class frequencies differ (or are known to). */
export const IMBALANCE_KEYWORDS: ReadonlySet<string> = new Set([
  "class_weight",
  "stratify",
  "pos_weight",
  "scale_pos_weight",
  "is_unbalance",
  "auto_class_weights",
  "sample_weight",
]);

/** Evidence in the file that classes are imbalanced (or known to be). */
export function imbalanceEvidence(py: PythonModel): boolean {
  for (const c of py.calls) {
    if ([...c.keywords.keys()].some((k) => IMBALANCE_KEYWORDS.has(k))) return true;
    if (
      c.method === "value_counts" ||
      c.method === "compute_class_weight" ||
      c.method === "compute_sample_weight"
    )
      return true;
    if (c.is("torch.utils.data.WeightedRandomSampler", "imblearn.**")) return true;
  }
  return py.importsModule("imblearn");
}

/** Where the file computes accuracy: `accuracy_score(...)`, `Accuracy(...)`, `metrics=["accuracy"]`. */
export function accuracyUses(py: PythonModel): Node[] {
  const out: Node[] = [];
  for (const c of py.calls) {
    if (
      c.is(
        "sklearn.metrics.accuracy_score",
        "torchmetrics.Accuracy",
        "torchmetrics.classification.*Accuracy",
        "torchmetrics.functional.accuracy",
        "keras.metrics.*Accuracy",
        "evaluate.load",
      )
    ) {
      if (c.is("evaluate.load") && !/^["']accuracy["']$/.test(c.args[0]?.text ?? "")) continue;
      out.push(c.node);
    }
    const m = c.keywords.get("metrics");
    if (m && (m.type === "list" || m.type === "tuple")) {
      for (const item of m.namedChildren)
        if (item && /^["'](accuracy|acc)["']$/.test(item.text)) out.push(item);
    }
  }
  return out.sort((a, b) => a.startIndex - b.startIndex);
}

// ---- data flow -----------------------------------------------------------------------------------

/**
 * The variables an expression takes its data from: `df` in `df[cols]` or `df.values`, both
 * arrays in `np.hstack([a, b])`. Modules and callees are left out, so following these names
 * does not taint every later use of `np` or of a column list.
 */
export function dataNames(py: PythonModel, node: Node): Set<string> {
  const out = new Set<string>();
  const visit = (n: Node | null | undefined) => {
    if (!n) return;
    switch (n.type) {
      case "identifier":
        if (!py.imports.has(n.text)) out.add(n.text);
        return;
      case "subscript":
      case "attribute":
        visit(n.childForFieldName(n.type === "subscript" ? "value" : "object"));
        return;
      case "call": {
        const fn = n.childForFieldName("function");
        // A method on data (`df.fillna(0)`) carries that data; a function's result carries its arguments.
        if (fn?.type === "attribute") visit(fn.childForFieldName("object"));
        visit(n.childForFieldName("arguments"));
        return;
      }
      case "keyword_argument":
        visit(n.childForFieldName("value"));
        return;
      case "lambda":
      case "string":
        return;
      default:
        for (const c of n.namedChildren) visit(c);
    }
  };
  visit(node);
  return out;
}

// ---- seeding ---------------------------------------------------------------------------------------

/** Seeding helpers by name: `random.seed`, `torch.manual_seed`, `seed_everything`, `set_seed`, a project's `init_seeds`. */
export const SEEDING_NAME = /seed|determinis|reproducib/i;

/** Generators that are seeded when built with an argument: `np.random.default_rng(42)`, `random.Random(0)`. */
export const SEEDABLE_GENERATORS = [
  "numpy.random.default_rng",
  "numpy.random.RandomState",
  "numpy.random.Generator",
  "random.Random",
];

// Libraries whose functions draw or consume seeds without seeding the run.
const LIBRARY_ROOT =
  /^(torch|numpy|sklearn|random|tensorflow|keras|pandas|lightning|transformers|datasets|xgboost|lightgbm|catboost|jax|os|sys|logging|print|str|int)\b/;
const SEED_ARGUMENT = /(^|[._])seed($|_)|^seed|seed$/i;

/**
 * Calls that seed the run: any callee named like a seeding helper (imported or local), a
 * project function handed a seed (`init_random(args.seed)`), a seeded generator, and frameworks
 * that seed for the user (LightningCLI's `seed_everything_default`, the Hugging Face `Trainer`'s
 * `args.seed`).
 */
export function seedingCalls(py: PythonModel): CallSite[] {
  return py.calls.filter(
    (c) =>
      (c.method !== undefined && SEEDING_NAME.test(c.method)) ||
      (c.is(...SEEDABLE_GENERATORS) && (c.args.length > 0 || c.keywords.has("seed"))) ||
      c.is(
        "lightning.pytorch.cli.LightningCLI",
        "transformers.Trainer",
        "transformers.Seq2SeqTrainer",
        "trl.*Trainer",
      ) ||
      (c.name !== undefined &&
        !LIBRARY_ROOT.test(c.name) &&
        [...c.args, ...c.keywords.values()].some((a) => {
          const d = a.type === "identifier" || a.type === "attribute" ? a.text : undefined;
          return d !== undefined && SEED_ARGUMENT.test(d.split(".").pop() ?? "");
        })),
  );
}
/** The call that built the object `node` names: `SVC()` itself, or through `clf = SVC(); clf.fit(...)`. */
export function constructorCall(py: PythonModel, node: Node | undefined, at: Span): CallSite | undefined {
  let expr: Node | null | undefined = node;
  for (let hops = 0; expr && hops < 3; hops++) {
    if (expr.type === "call") {
      const id = expr.id;
      return py.calls.find((c) => c.node.id === id);
    }
    if (expr.type !== "identifier" && expr.type !== "attribute") return undefined;
    const a = py.lastAssignment(expr.text.replace(/\s+/g, ""), at);
    if (a?.op !== "=" || a.targets.length !== 1) return undefined;
    expr = a.value;
  }
  return undefined;
}

/** Datasets whose classes are balanced and whose features share one scale (pixels, digits). */
export const TOY_BALANCED_DATASETS = [
  "sklearn.datasets.load_iris",
  "sklearn.datasets.load_digits",
  "sklearn.datasets.load_wine",
  "sklearn.datasets.make_classification",
  "sklearn.datasets.make_blobs",
  "sklearn.datasets.make_moons",
  "sklearn.datasets.make_circles",
  "keras.datasets.*.load_data",
  "torchvision.datasets.MNIST",
  "torchvision.datasets.FashionMNIST",
  "torchvision.datasets.CIFAR10",
  "torchvision.datasets.CIFAR100",
];
