import type { Node } from "web-tree-sitter";
import { assignmentOf } from "../../src/engine/python/flow.js";
import { isTestPath, namesIn } from "../../src/engine/python/helpers.js";
import { type CallSite, type Loop, spanOf } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { ctorOf, dataArg, dataRole, isMetricCall, modelKind, receiverText } from "./_lib.js";

// Picking the winner from collected scores: `np.argmax(test_scores)`, `max(scores)`, `scores.index(...)`.
const PICK_FUNCTIONS = /(^|\.)(max|min|argmax|argmin|nanargmax|nanargmin|amax|amin|nanmax|nanmin)$/;
const PICK_METHODS = /^(index|idxmax|idxmin|argmax|argmin|max|min)$/;
// Project helpers an objective calls to score a trial (`evaluate(model, test_loader)`, `run_eval(...)`).
const EVAL_HELPERS =
  /^(evaluate|eval|validate|test|score|evaluate_\w+|eval_\w+|run_eval\w*|compute_metrics?)$/;
const CROSS_VALIDATION = [
  "sklearn.model_selection.cross_val_score",
  "sklearn.model_selection.cross_validate",
  "sklearn.model_selection.cross_val_predict",
];

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  const reported = new Set<number>();
  const report = (call: CallSite, message: string) => {
    if (reported.has(call.start)) return;
    reported.add(call.start);
    ctx.report(call, { message });
  };

  // A search object fitted on the test split.
  for (const fit of py.methodCalls("fit")) {
    if (modelKind(py, fit) !== "search" || dataRole(py, dataArg(fit), fit) !== "test") continue;
    report(
      fit,
      `This hyperparameter search is fitted on test data (\`${dataArg(fit)!.text}\`): the test set chooses the ` +
        "hyperparameters, so its score no longer estimates performance on new data. Fit the search on the " +
        "training split (its internal CV does the validation) and score the best model on the test set once.",
    );
  }

  // A Keras Tuner search whose trials are scored on the test split (`validation_data=(x_test, y_test)`).
  for (const search of py.methodCalls("search")) {
    const ctor = ctorOf(py, search.receiver, search);
    if (!ctor || !/^(keras_tuner|kerastuner)\./.test(ctor)) continue;
    const val = search.keywords.get("validation_data");
    const onTest = [dataArg(search), val].some((d) => dataRole(py, d, search) === "test");
    if (!onTest) continue;
    report(
      search,
      "This Keras Tuner search scores its trials on test data, so the test set chooses the hyperparameters and " +
        "its score no longer estimates performance on new data. Pass a validation split as `validation_data` " +
        "(or `validation_split=`) and evaluate the best model on the test set once.",
    );
  }

  // An Optuna objective (takes `trial`) that scores on the test split.
  for (const fn of py.functions) {
    if (!fn.explicitParams.some((p) => p.name === "trial")) continue;
    if (!py.callsIn(fn.body).some((c) => c.receiver?.text === "trial" && /^suggest_/.test(c.method ?? "")))
      continue;
    const calls = py.callsIn(fn.body);
    for (const e of [...testEvaluations(calls), ...calls.filter(isTestEvalHelper)])
      report(
        e,
        "This tuning objective is scored on the test set, so the study picks the hyperparameters that fit the " +
          "test data and the final test score is optimistic. Score trials on a validation split or with " +
          "cross-validation on the training data, and evaluate the chosen model on the test set once at the end.",
      );
  }

  // A loop over candidate settings that keeps whichever scores best on the test set: it refits a model per
  // setting, or the setting goes straight into the score (a decision threshold, `proba > t`).
  for (const loop of py.loops) {
    if (loop.kind !== "for" || /epoch/i.test(loop.target?.text ?? "")) continue;
    const calls = py.callsIn(loop.node);
    const refits = calls.some((c) => c.method === "fit");
    const setting = loop.target ? namesIn(loop.target) : new Set<string>();
    for (const e of testEvaluations(calls)) {
      if (!refits && !usesSetting(e, setting)) continue;
      if (py.loopsAt(e)[0] !== loop || !selectsBest(loop, e)) continue;
      report(
        e,
        "Candidates are compared on the test set inside this loop, so the test set picks the winner and its score " +
          "is no longer an unbiased estimate. Compare candidates on a validation split or with cross-validation, " +
          "and touch the test set once, for the chosen model.",
      );
    }
  }

  // The same as a comprehension: `scores = [f1_score(y_test, proba > t) for t in thresholds]`, then the best.
  for (const comp of py.tree.rootNode.descendantsOfType("list_comprehension")) {
    if (!comp) continue;
    const clause = comp.namedChildren.find((c) => c?.type === "for_in_clause");
    const target = clause?.childForFieldName("left");
    const body = comp.childForFieldName("body");
    if (!target || !body || /epoch/i.test(target.text)) continue;
    const setting = namesIn(target);
    const calls = py.callsIn(body);
    const refits = calls.some((c) => c.method === "fit");
    const a = assignmentOf(py, spanOf(comp));
    if (a?.value?.id !== comp.id || a.targets.length !== 1) continue;
    const scores = a.targets[0];
    const scope = py.functionAt(a);
    const picked = py.calls.some(
      (c) =>
        c.start > a.end &&
        py.functionAt(c) === scope &&
        ((PICK_FUNCTIONS.test(c.name ?? "") && c.args.some((x) => x.text === scores)) ||
          (PICK_METHODS.test(c.method ?? "") && receiverText(c) === scores)),
    );
    if (!picked) continue;
    for (const e of testEvaluations(calls)) {
      if (!refits && !usesSetting(e, setting)) continue;
      report(
        e,
        "Candidates are compared on the test set in this comprehension and the best one is kept, so the test set " +
          "picks the winner and its score is no longer an unbiased estimate. Compare candidates on a validation " +
          "split or with cross-validation, and touch the test set once, for the chosen setting.",
      );
    }
  }

  // `max(models, key=lambda m: m.score(X_test, y_test))`: the key function ranks candidates on the test set.
  for (const pick of py.calls) {
    if (!PICK_FUNCTIONS.test(pick.name ?? "") && pick.name !== "sorted") continue;
    const key = pick.keywords.get("key");
    if (key?.type !== "lambda") continue;
    const params = new Set(
      (key.childForFieldName("parameters")?.namedChildren ?? []).map((p) => p?.text).filter((t) => !!t),
    );
    // The lambda's own parameter is one of the candidates: `m.score(X_test, y_test)`.
    const scoresParam = (c: CallSite) =>
      (c.method === "score" || c.method === "evaluate") &&
      params.has(c.receiver?.text) &&
      dataRole(py, dataArg(c), c) === "test";
    const calls = py.callsIn(key);
    for (const e of [...testEvaluations(calls), ...calls.filter(scoresParam)])
      report(
        e,
        "The candidates are ranked by their test-set score here, so the test set picks the winner and its score " +
          "is no longer an unbiased estimate. Rank them on a validation split or with cross-validation, and " +
          "touch the test set once, for the chosen model.",
      );
  }

  /** True when a score's arguments read the loop's own setting (`f1_score(y_test, proba > t)`). */
  function usesSetting(e: CallSite, setting: Set<string>): boolean {
    return [...e.args, ...e.keywords.values()].some((a) => [...namesIn(a)].some((n) => setting.has(n)));
  }

  /** A project evaluation helper run on test data inside an objective: `evaluate(model, test_loader)`. */
  function isTestEvalHelper(c: CallSite): boolean {
    const fn = c.receiver ? c.method : c.name;
    if (!fn || !EVAL_HELPERS.test(fn) || (c.receiver && modelKind(py, c) !== undefined)) return false;
    return [...c.args, ...c.keywords.values()].some((a) => dataRole(py, a, c) === "test");
  }

  /** Scores, evaluations and metrics computed on test-role data. */
  function testEvaluations(calls: CallSite[]): CallSite[] {
    return calls.filter((c) => {
      if (c.method === "score" || c.method === "evaluate")
        return modelKind(py, c) !== undefined && dataRole(py, dataArg(c), c) === "test";
      if (isMetricCall(c))
        return [...c.args, ...c.keywords.values()].some((a) => dataRole(py, a, c) === "test");
      // `cross_val_score(model, X_test, y_test)`: cross-validation run inside the test set.
      if (c.is(...CROSS_VALIDATION)) return dataRole(py, c.arg("X", 1), c) === "test";
      return false;
    });
  }

  /** The loop keeps a running best, branches on the score it just computed, or collects the scores and picks the extreme one after the loop. */
  function selectsBest(loop: Loop, e: CallSite): boolean {
    const scoreName = assignmentOf(py, e)?.targets[0];
    if (py.assignmentsIn(loop.node).some((a) => a.targets.some((t) => /best/i.test(t)))) return true;
    const branches = py.ifs.some(
      (i) =>
        loop.start < i.start &&
        i.end <= loop.end &&
        (/best/i.test(i.condition.text) ||
          (!!scoreName && new RegExp(`\\b${scoreName}\\b`).test(i.condition.text))),
    );
    if (branches) return true;
    const lists = collectedInto(loop, e, scoreName);
    if (lists.size === 0) return false;
    const scope = py.functionAt(loop.node);
    return py.calls.some(
      (c) =>
        c.start > loop.end &&
        py.functionAt(c) === scope &&
        ((PICK_FUNCTIONS.test(c.name ?? "") && c.args.some((a) => lists.has(a.text))) ||
          (PICK_METHODS.test(c.method ?? "") && lists.has(receiverText(c) ?? ""))),
    );
  }

  /** Lists or dicts the loop stores this score in (`scores.append(acc)`, `test_errors[i] = acc`). */
  function collectedInto(loop: Loop, e: CallSite, scoreName: string | undefined): Set<string> {
    const holds = (n: Node | undefined) =>
      !!n && ((n.startIndex <= e.start && e.end <= n.endIndex) || (!!scoreName && n.text === scoreName));
    const out = new Set<string>();
    for (const c of py.callsIn(loop.node))
      if (c.method === "append" && c.receiver && holds(c.args[0])) out.add(receiverText(c)!);
    for (const a of py.assignmentsIn(loop.node)) {
      const m = /^([\w.]+)\[/.exec(a.targets[0] ?? "");
      if (m && a.targets.length === 1 && holds(a.value)) out.add(m[1]);
    }
    return out;
  }
});
