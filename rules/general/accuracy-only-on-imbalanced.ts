import { isTestPath, stringValue } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { accuracyUses, CLASSIFIER, IMBALANCE_AWARE } from "./_lib.js";
import { balancedBenchmark, classImbalanceShown, estimatorClassOf, firstReportable } from "./_training.js";

const MESSAGE =
  "Accuracy is the only classification metric here, yet this file shows the classes are imbalanced (class weights, a stratified split, resampling or class counts): " +
  "a model that always predicts the majority class still scores high accuracy. Report imbalance-aware metrics next to it: " +
  "F1 / precision / recall per class (`classification_report`), balanced accuracy, or ROC-AUC / PR-AUC, and state the class ratio.";

export default defineCheck((ctx) => {
  // Test fixtures build these patterns on purpose.
  if (isTestPath(ctx.path)) return;
  const { py } = ctx;
  const uses: { line: number }[] = accuracyUses(py).map((n) => ({ line: n.startPosition.row + 1 }));
  for (const c of py.calls) {
    // `scoring="accuracy"` in a search or cross-validation, and a classifier's `.score()`, are accuracy too.
    if (stringValue(c.keywords.get("scoring")) === "accuracy")
      uses.push({ line: c.keywords.get("scoring")!.startPosition.row + 1 });
    else if (c.method === "score" && c.args.length >= 2) {
      const ctor = estimatorClassOf(py, c.receiver, c);
      if (ctor && CLASSIFIER.test(ctor)) uses.push(c);
    }
  }
  // Accuracy by hand: `acc = (pred == y).float().mean()`, `val_accuracy = correct / total`.
  for (const a of py.assignments) {
    if (a.op !== "=" || a.targets.length !== 1 || !/(^|_)acc(uracy)?$/i.test(a.targets[0]!)) continue;
    if (/==|\.eq\s*\(|correct/.test(a.value?.text ?? "")) uses.push(a);
  }
  if (uses.length === 0 || IMBALANCE_AWARE.test(ctx.text) || !classImbalanceShown(py)) return;
  // `stratify=` by habit on iris or MNIST is no sign of imbalance: those classes are balanced.
  if (balancedBenchmark(py)) return;
  uses.sort((a, b) => a.line - b.line);
  const hit = firstReportable(ctx, uses);
  if (hit) ctx.report({ line: hit.line }, { message: MESSAGE });
});
