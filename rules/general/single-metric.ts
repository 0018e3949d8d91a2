import { isEntryPoint } from "../../src/engine/python/entrypoint.js";
import { lightningModules } from "../../src/engine/python/frameworks.js";
import { isTestPath, stringValue } from "../../src/engine/python/helpers.js";
import type { PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { isEstimatorClass } from "./_lib.js";
import {
  balancedBenchmark,
  classImbalanceShown,
  estimatorClassOf,
  firstReportable,
  wordsOf,
} from "./_training.js";

interface MetricUse {
  line: number;
  /** Offset of the metric in the file. */
  at: number;
  /** The metric's name as written (`accuracy_score`, `MulticlassAccuracy`, `"mae"`). */
  name: string;
}

// Metric families, by the metric's name and by the words that name them in code (`acc`,
// `val_f1`, `"rmse"`): a second family anywhere in the file means a second metric is reported.
const FAMILIES: { name: RegExp; words: string[] }[] = [
  { name: /accuracy|^acc$/, words: ["acc", "accuracy", "accuracies"] },
  { name: /f1|fbeta|fscore/, words: ["f1", "fbeta", "fscore"] },
  { name: /average_?precision|^ap$/, words: ["ap"] },
  { name: /^(?!.*average).*precision/, words: ["precision", "prec", "ppv"] },
  { name: /recall|sensitivity/, words: ["recall", "sensitivity", "tpr"] },
  { name: /auc|auroc|roc/, words: ["auc", "auroc", "roc"] },
  { name: /confusion/, words: ["confusion"] },
  { name: /matthews|mcc/, words: ["matthews", "mcc"] },
  { name: /kappa/, words: ["kappa"] },
  { name: /log_?loss|crossentropy|brier/, words: ["logloss", "brier"] },
  { name: /root_?mean_?squared|rmse/, words: ["rmse"] },
  { name: /^(?!.*root).*(mean_?squared_?error|^mse$)/, words: ["mse"] },
  { name: /mean_?absolute_?error|^mae$/, words: ["mae"] },
  { name: /percentage|mape/, words: ["mape", "smape"] },
  { name: /r2|explained_variance/, words: ["r2", "rsquared"] },
  { name: /jaccard|iou/, words: ["iou", "miou", "jaccard"] },
  { name: /dice/, words: ["dice"] },
  { name: /bleu/, words: ["bleu"] },
  { name: /rouge/, words: ["rouge"] },
  { name: /perplexity/, words: ["perplexity", "ppl"] },
  { name: /silhouette|rand|mutual_info|calinski|davies/, words: ["silhouette", "ari", "nmi"] },
];

const SQUARED = [
  FAMILIES.findIndex((f) => f.words.includes("rmse")),
  FAMILIES.findIndex((f) => f.words.includes("mse")),
];

const NOT_METRICS =
  /Display$|^make_scorer$|^get_scorer|^check_scoring$|^pairwise|^DistanceMetric$|^Metric$|Wrapper$|Tracker$/;
const MANY = /^(classification_report|MetricCollection|combine|precision_recall_fscore_support)$/;
// Hugging Face `evaluate` suites that return several metrics (`glue`/`mrpc` gives accuracy and F1,
// `squad` exact match and F1, `seqeval` precision, recall, F1 and accuracy).
const EVALUATE_SUITES = /^(glue|super_glue|indic_glue|squad|squad_v2|seqeval|poseval|xtreme_s)$/;

const ADVICE: [RegExp, string][] = [
  [/accuracy|^acc$/, "precision / recall / F1 per class or a confusion matrix (`classification_report`)"],
  [
    /f1|fbeta|fscore|precision|recall/,
    "the precision and recall behind it, and a threshold-free metric such as PR-AUC",
  ],
  [/auc|roc/, "a threshold metric at the operating point (precision / recall / F1) or PR-AUC"],
  [
    /squared|rmse|mse|absolute|mae|r2|percentage/,
    "a second error view: MAE next to RMSE, and R² or a baseline comparison",
  ],
];

/** Where the file computes metrics, or undefined when it computes several at once or cannot be told. */
function metricUses(py: PythonModel): MetricUse[] | undefined {
  const uses: MetricUse[] = [];
  for (const c of py.calls) {
    if (
      c.is("sklearn.metrics.**", "torchmetrics.**", "keras.metrics.*", "evaluate.load", "evaluate.combine")
    ) {
      const last = c.name!.split(".").pop()!;
      if (MANY.test(last)) return undefined;
      if (NOT_METRICS.test(last)) continue;
      if (c.is("evaluate.load")) {
        const metric = stringValue(c.args[0]);
        if (metric === undefined || EVALUATE_SUITES.test(metric)) return undefined;
        uses.push({ line: c.line, at: c.start, name: metric });
      } else uses.push({ line: c.line, at: c.start, name: last });
    }
    for (const kw of ["metrics", "scoring"]) {
      const v = c.keywords.get(kw);
      if (!v) continue;
      const single = stringValue(v);
      if (single !== undefined) {
        uses.push({ line: v.startPosition.row + 1, at: v.startIndex, name: single });
        continue;
      }
      if (v.type !== "list" && v.type !== "tuple") return undefined;
      for (const item of v.namedChildren) {
        if (!item || item.type === "comment") continue;
        const s = stringValue(item);
        const fn = item.type === "call" ? item.childForFieldName("function") : undefined;
        const name = s ?? (fn ? py.resolve(fn)?.split(".").pop() : undefined);
        if (!name) return undefined;
        uses.push({ line: item.startPosition.row + 1, at: item.startIndex, name });
      }
    }
    if (c.method === "score" && c.args.length >= 2 && isEstimatorClass(estimatorClassOf(py, c.receiver, c)))
      uses.push({ line: c.line, at: c.start, name: "score()" });
  }
  return uses;
}

function familyOf(name: string): number[] {
  const key = name
    .toLowerCase()
    .replace(/^(binary|multiclass|multilabel)_?/, "")
    .replace(/_score$/, "");
  return FAMILIES.flatMap((f, i) => (f.name.test(key) ? [i] : []));
}

const REPORTS = /^(print|log|log_metric|log_metrics|log_dict|info|add_scalar|write)$/;

/**
 * True when the use sits in evaluation code: a script (an entry point, or module-level code), an
 * evaluation function, a LightningModule that validates, or a value printed / logged on the spot.
 */
function inEvaluation(py: PythonModel, use: MetricUse, entry: boolean, validating: Set<unknown>): boolean {
  if (entry || py.isModuleLevel(use.at)) return true;
  for (let fn = py.functionAt(use.at); fn; fn = fn.parentFunction) {
    if (/eval|test|valid|score|metric|report|benchmark/i.test(fn.name)) return true;
  }
  if (validating.has(py.classAt(use.at))) return true;
  return py.calls.some(
    (c) =>
      c.method !== undefined &&
      REPORTS.test(c.method) &&
      c.argsNode.startIndex <= use.at &&
      use.at < c.argsNode.endIndex,
  );
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  const uses = metricUses(py);
  if (!uses || uses.length === 0) return;
  const names = new Set(uses.map((u) => u.name.toLowerCase().replace(/_score$/, "")));
  if (names.size !== 1) return;
  const name = uses[0]!.name;
  const own = familyOf(name);
  if (own.length > 1) return;
  // Accuracy alone on imbalanced classes is `general/accuracy-only-on-imbalanced`'s (critical) finding.
  if (FAMILIES[0]!.name.test(name.toLowerCase()) && classImbalanceShown(py)) return;
  // On a class-balanced benchmark (MNIST, CIFAR, iris) accuracy alone is the standard report.
  if (FAMILIES[0]!.name.test(name.toLowerCase()) && balancedBenchmark(py, ctx.text)) return;
  const words = wordsOf(ctx.text);
  // RMSE is the root of MSE (`mean_squared_error(..., squared=False)` printed as "RMSE"): not a second metric.
  const same = own.some((i) => SQUARED.includes(i)) ? [...own, ...SQUARED] : own;
  if (FAMILIES.some((f, i) => !same.includes(i) && f.words.some((w) => words.has(w)))) return;
  const entry = isEntryPoint(py, ctx.path);
  const validating = new Set<unknown>(
    lightningModules(py).filter((cls) => cls.method("validation_step") || cls.method("test_step")),
  );
  const hit = firstReportable(
    ctx,
    uses.filter((u) => inEvaluation(py, u, entry, validating)),
  );
  if (!hit) return;
  const key = name.toLowerCase();
  const advice =
    ADVICE.find(([re]) => re.test(key))?.[1] ?? "a second metric that looks at errors from another angle";
  ctx.report(
    { line: hit.line },
    {
      message:
        `\`${name}\` is the only metric this evaluation reports; a single number hides trade-offs (which class fails, how large the errors are). ` +
        `Report at least one complementary metric next to it, e.g. ${advice}.`,
    },
  );
});
