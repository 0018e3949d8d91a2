import type { Node } from "web-tree-sitter";
import { assignmentOf, followNames } from "../../src/engine/python/flow.js";
import { namesIn, stringValue } from "../../src/engine/python/helpers.js";
import type { CallSite, FunctionDef, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { dataNames } from "./_lib.js";

const EARLY_STOPPING = [
  "keras.callbacks.EarlyStopping",
  "lightning.pytorch.callbacks.EarlyStopping",
  "lightning.pytorch.callbacks.early_stopping.EarlyStopping",
  "transformers.EarlyStoppingCallback",
  "lightgbm.early_stopping",
  "xgboost.callback.EarlyStopping",
];
// Where fit/train calls take the data that early stopping watches.
const VAL_KEYWORDS = [
  "eval_set",
  "valid_sets",
  "evals",
  "validation_data",
  "eval_dataset",
  "val_dataloaders",
];
// State that early stopping itself leaves behind: scoring it scores the early-stopping data.
const OBJECTIVE_TEXT = /best_score|best_iteration|evals_result|callback_metrics|history\[\s*["']val/;
const EVAL_METHOD = /^(score|evaluate|test|\w+_score|\w+_error|accuracy\w*|log_loss)$/;

/** Functions a tuner optimises: passed to `study.optimize`/`tune.run`/`tune.Tuner`, or drawing from `trial.suggest_*`. */
function objectives(py: PythonModel): FunctionDef[] {
  const names = new Set<string>();
  for (const c of py.calls) {
    const fn =
      c.method === "optimize" || c.is("ray.tune.run", "ray.tune.Tuner", "ray.tune.with_parameters")
        ? c.args[0]
        : undefined;
    if (!fn) continue;
    if (fn.type === "identifier") names.add(fn.text);
    // `lambda trial: objective(trial, data)`
    for (const inner of py.within(py.calls, { start: fn.startIndex, end: fn.endIndex }))
      if (inner.name && !inner.name.includes(".")) names.add(inner.name);
  }
  const suggests = py.calls.filter((c) => c.method?.startsWith("suggest_"));
  return py.functions.filter((f) => names.has(f.name) || suggests.some((c) => py.functionAt(c) === f));
}

interface EarlyStop {
  site: CallSite;
  /** The report target: the `early_stopping_rounds=` argument, or the callback's construction. */
  at: CallSite | Node;
  /** Names of the data it watches; empty when only known as "validation" (`validation_split`, `monitor="val_loss"`). */
  watched: Set<string>;
  /** Where the watched data is handed over: names are followed from there on. */
  from: number;
}

function earlyStopping(py: PythonModel, body: Node): EarlyStop | undefined {
  const calls = py.callsIn(body);
  const site = calls.find(
    (c) =>
      c.is(...EARLY_STOPPING) ||
      c.method === "EarlyStopping" ||
      c.keywords.has("early_stopping_rounds") ||
      (c.method === "early_stopping" && c.imported),
  );
  if (!site) return undefined;
  const watched = new Set<string>();
  let from = site.start;
  let validation = /^val/.test(stringValue(site.keywords.get("monitor")) ?? "");
  for (const c of calls) {
    for (const k of VAL_KEYWORDS) {
      const v = c.keywords.get(k);
      if (!v) continue;
      if (watched.size === 0) from = c.start;
      for (const n of dataNames(py, v)) watched.add(n);
    }
    if (c.keywords.has("validation_split")) validation = true;
  }
  const at = site.keywords.get("early_stopping_rounds")?.parent ?? site;
  return watched.size > 0 || validation ? { site, at, watched, from } : undefined;
}

/** What the objective hands back to the tuner: its return values and reported metrics. */
function objectiveValues(py: PythonModel, fn: FunctionDef): Node[] {
  const out: Node[] = [];
  const body = fn.body;
  const visit = (n: Node) => {
    if (n.type === "function_definition" || n.type === "class_definition" || n.type === "lambda") return;
    if (n.type === "return_statement") {
      const v = n.namedChildren[0];
      if (v) out.push(v);
      return;
    }
    for (const c of n.namedChildren) if (c) visit(c);
  };
  visit(body);
  for (const c of py.callsIn(body, { direct: true }))
    if (c.method === "report" && c.receiver && !/^self\b/.test(c.receiver.text)) out.push(c.argsNode);
  return out;
}

/**
 * True when something is scored on data named as a test set. Data that early stopping itself
 * watches is not a separate test set, whatever it is called (a CV fold's `X_test` handed to
 * `eval_set=` is the validation data).
 */
function evaluatesOnTest(py: PythonModel, watched: Set<string>): boolean {
  return py.calls.some(
    (c) =>
      ((c.method !== undefined && EVAL_METHOD.test(c.method)) || c.is("sklearn.metrics.*")) &&
      [...namesIn(c.argsNode)].some((n) => /test|holdout|hold_out/i.test(n) && !watched.has(n)),
  );
}

/**
 * KerasTuner: `tuner.search(..., validation_data=..., callbacks=[EarlyStopping(...)])` scores
 * trials on the validation metrics (its objectives are `val_*`) that the callback also watches.
 */
function tunerSearches(py: PythonModel): { call: CallSite; stop: CallSite }[] {
  if (!py.importsModule("keras_tuner", "kerastuner")) return [];
  const out: { call: CallSite; stop: CallSite }[] = [];
  for (const call of py.methodCalls("search")) {
    const callbacks = call.keywords.get("callbacks");
    if (!callbacks || !(call.keywords.has("validation_data") || call.keywords.has("validation_split")))
      continue;
    const names = namesIn(callbacks);
    const stop = py.calls.find((c) => {
      if (!(c.is(...EARLY_STOPPING) || c.method === "EarlyStopping")) return false;
      if (c.start >= callbacks.startIndex && c.end <= callbacks.endIndex) return true;
      const a = assignmentOf(py, c);
      return a !== undefined && a.end <= call.start && a.targets.some((t) => names.has(t));
    });
    if (stop) out.push({ call, stop });
  }
  return out;
}

const GRIDS = [
  "sklearn.model_selection.ParameterGrid",
  "sklearn.model_selection.ParameterSampler",
  "itertools.product",
];

/**
 * A hand-written search: a loop over candidate values (a literal list, `ParameterGrid`,
 * `itertools.product`) that stops early on validation data and keeps the best by comparing a
 * score computed on that same data.
 */
function tuningLoops(py: PythonModel): EarlyStop[] {
  const out: EarlyStop[] = [];
  for (const loop of py.loops) {
    const iter = loop.iter;
    if (loop.kind !== "for" || !iter) continue;
    const bound = iter.type === "identifier" ? py.lastAssignment(iter.text, loop)?.value : undefined;
    const candidates = [iter, bound].some(
      (n) =>
        n !== undefined &&
        (n.type === "list" ||
          n.type === "tuple" ||
          py.within(py.calls, { start: n.startIndex, end: n.endIndex }).some((c) => c.is(...GRIDS))),
    );
    if (!candidates) continue;
    const es = earlyStopping(py, loop.body);
    if (!es || es.watched.size === 0) continue;
    const scope = py.functionAt(loop);
    const end = { start: loop.end, end: loop.end, line: loop.endLine, endLine: loop.endLine, column: 1 };
    const live = followNames(py, es.watched, es.from, end, scope);
    const picks = py
      .within(py.ifs, { start: loop.body.startIndex, end: loop.body.endIndex })
      .some((i) => /[<>]/.test(i.condition.text) && [...namesIn(i.condition)].some((n) => live.has(n)));
    if (picks) out.push(es);
  }
  return out;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const found: { at: CallSite | Node; what: string }[] = [];
  const watched = new Set<string>();
  for (const fn of objectives(py)) {
    const es = earlyStopping(py, fn.body);
    if (!es) continue;
    const end = { start: fn.end, end: fn.end, line: fn.endLine, endLine: fn.endLine, column: 1 };
    const live = followNames(py, es.watched, es.from, end, fn);
    const reused = objectiveValues(py, fn).some(
      (v) => OBJECTIVE_TEXT.test(v.text) || [...namesIn(v)].some((n) => live.has(n)),
    );
    if (reused) {
      found.push({ at: es.at, what: `the tuning objective of \`${fn.name}\`` });
      for (const n of es.watched) watched.add(n);
    }
  }
  for (const es of tuningLoops(py)) {
    found.push({ at: es.at, what: "the search loop's comparison of scores" });
    for (const n of es.watched) watched.add(n);
  }
  for (const { call, stop } of tunerSearches(py)) {
    found.push({ at: stop, what: `the tuner's \`search\` (line ${call.line})` });
    const val = call.keywords.get("validation_data");
    if (val) for (const n of dataNames(py, val)) watched.add(n);
  }
  if (found.length === 0 || evaluatesOnTest(py, watched)) return;
  for (const { at, what } of found) {
    ctx.report(at, {
      message:
        `Early stopping here watches the validation data that ${what} is also scored on, and nothing in this file ` +
        "is scored on a test set the tuning never saw: the validation set picks both the stopping point and the hyperparameters, so the " +
        "best score is biased upward. Carve the " +
        "early-stopping split out of the training data, or keep a test set that the tuning never sees and report " +
        "the chosen model's score on it.",
    });
  }
});
