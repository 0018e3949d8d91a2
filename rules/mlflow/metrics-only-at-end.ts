import { rootName } from "../../src/engine/python/flow.js";
import {
  dotted,
  isTestPath,
  isWithin,
  namesIn,
  numberValue,
  stringValue,
} from "../../src/engine/python/helpers.js";
import type { CallSite, Loop, PythonModel } from "../../src/engine/python/model.js";
import { type CheckContext, defineCheck } from "../../src/engine/rule.js";
import { autologCalls, fluent, trainingCalls, trainingLoops } from "./_lib.js";

// Metric tracking calls: MLflow's, a client's, Lightning's `self.log`, TensorBoard, W&B, Ray's `report`
// (parameters, artifacts and checkpoints logged per epoch do not draw a curve).
const TRACKING_METHOD = /^(log|log_metrics?|log_scalars?|log_value|add_scalars?|report|track)$/;
const PER_EPOCH_KEY = /loss|train|val|acc|err|f1|auc|score/i;

/** Names of this file's functions that log something, so a call to one inside a loop counts as logging. */
function loggingHelpers(py: PythonModel): Set<string> {
  const out = new Set<string>();
  for (const fn of py.functions) {
    if (py.callsIn(fn.body).some((c) => c.method !== undefined && TRACKING_METHOD.test(c.method)))
      out.add(fn.name);
  }
  return out;
}

/** Names whose value changes with each epoch: assigned, updated or appended to inside the loop. */
function perEpochNames(py: PythonModel, loop: Loop): Set<string> {
  const out = new Set<string>();
  for (const a of py.assignmentsIn(loop.body))
    for (const t of a.targets) if (rootName(t)) out.add(rootName(t)!);
  for (const c of py.callsIn(loop.body)) {
    if (c.method === "append" || c.method === "extend") {
      const root = c.receiver ? rootName(c.receiver.text) : undefined;
      if (root) out.add(root);
    }
  }
  return out;
}

/**
 * True when the loop is the whole training run, not one epoch of it: an epoch loop, a loop around
 * another training loop, or a single pass written at module level. A lone batch loop inside a
 * function is usually one epoch, run by a caller that may well log per epoch.
 */
function coversTraining(py: PythonModel, loop: Loop, loops: Loop[]): boolean {
  const header = loop.node.text.slice(0, loop.body.startIndex - loop.start);
  if (/epoch/i.test(header) || loops.some((l) => l !== loop && isWithin(l, loop))) return true;
  return py.functionAt(loop) === undefined;
}

function loggedKeys(call: CallSite): string[] {
  if (call.method === "log_metric") {
    const key = stringValue(call.arg("key", 0));
    return key ? [key] : [];
  }
  const dict = call.arg("metrics", 0);
  if (dict?.type !== "dictionary") return [];
  return dict.namedChildren.flatMap((p) => {
    const key = p?.type === "pair" ? stringValue(p.childForFieldName("key")) : undefined;
    return key ? [key] : [];
  });
}

/**
 * Keras runs the epoch loop inside `fit(epochs=...)`: logging only the last entry of the returned
 * history (`history.history["loss"][-1]`) keeps one point of a curve Keras computed in full.
 */
function kerasHistories(ctx: CheckContext, metrics: CallSite[]): void {
  const { py } = ctx;
  if (autologCalls(py).length > 0) return;
  for (const fit of py.methodCalls("fit")) {
    const epochs = fit.keywords.get("epochs");
    if (!epochs || numberValue(epochs) === 1 || fit.keywords.has("callbacks") || fit.hasSplat) continue;
    const stmt = fit.node.parent;
    const history = stmt?.type === "assignment" ? dotted(stmt.childForFieldName("left")) : undefined;
    if (!history) continue;
    const read = new RegExp(`(?<![\\w.])${history.replace(/\./g, "\\.")}\\.history\\s*\\[`);
    const late = metrics.find(
      (c) => c.start > fit.end && ctx.isAdded(c.line) && read.test(c.argsNode.text) && !c.arg("step", 2),
    );
    if (!late) continue;
    ctx.report(late, {
      message:
        `\`fit()\` (line ${fit.line}) trains for several epochs, but only one value of its history reaches MLflow. ` +
        "The run shows a single point instead of the training curve Keras computed. Log every epoch: loop over " +
        "`history.history` with `step=epoch`, pass an MLflow-logging callback, or enable `mlflow.tensorflow.autolog()`.",
    });
  }
}

/**
 * A history recorded during training replayed afterwards without steps:
 * `for loss in trainer.train_loss_list: mlflow.log_metric("train_loss", loss)`. MLflow puts every
 * value at step 0, so the curve collapses onto one point of the step axis.
 */
function replaysWithoutStep(ctx: CheckContext, metrics: CallSite[]): boolean {
  const { py } = ctx;
  const trained = [...trainingCalls(py), ...trainingLoops(py)];
  let reported = false;
  for (const c of metrics) {
    if (!ctx.isAdded(c.line)) continue;
    const step = c.arg("step", c.method === "log_metric" ? 2 : 1);
    if ((step && step.type !== "none") || c.hasSplat) continue;
    const keys = loggedKeys(c);
    if (keys.length === 0 || keys.some((k) => /test/i.test(k))) continue;
    const fn = py.functionAt(c);
    const loop = py.loopsAt(c).find((l) => py.functionAt(l) === fn);
    if (loop?.kind !== "for" || !loop.target || !loop.iter) continue;
    // A dict of final scores (`for k, v in scores.items()`) is not a history.
    if (/\.(items|keys)\s*\(\s*\)\s*$/.test(loop.iter.text)) continue;
    if (trainingLoops(py).some((l) => l.start === loop.start)) continue;
    const targets = namesIn(loop.target);
    if (![...namesIn(c.argsNode)].some((n) => targets.has(n))) continue;
    const before = trained.find((t) => t.end < loop.start && py.functionAt(t) === fn);
    if (!before) continue;
    ctx.report(c, {
      message:
        `Training has already run (line ${before.line}) and this loop replays its recorded values into MLflow ` +
        "without `step=`. MLflow logs every one of them at step 0, so the run's chart shows a single point instead " +
        "of the curve. Pass the epoch as the step (`for epoch, loss in enumerate(losses): " +
        'mlflow.log_metric("train_loss", loss, step=epoch)`), or better, log inside the training loop.',
    });
    reported = true;
  }
  return reported;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  // Tests exercise tracking code with throwaway runs; they are not experiments.
  if (isTestPath(ctx.path)) return;
  const metrics = fluent(py, "log_metric", "log_metrics");
  if (metrics.length === 0) return;
  kerasHistories(ctx, metrics);
  if (replaysWithoutStep(ctx, metrics)) return;
  const loops = trainingLoops(py);
  const outer = loops.filter(
    (l) => !loops.some((o) => o !== l && isWithin(l, o) && py.functionAt(o) === py.functionAt(l)),
  );
  if (outer.length === 0) return;
  const helpers = loggingHelpers(py);
  for (const loop of outer) {
    const fn = py.functionAt(loop);
    if (!coversTraining(py, loop, loops)) continue;
    const inside = py.callsIn(loop.body);
    if (inside.some((c) => (c.method && TRACKING_METHOD.test(c.method)) || helpers.has(c.method ?? "")))
      continue;
    const perEpoch = perEpochNames(py, loop);
    const late = metrics.find((c) => {
      if (!ctx.isAdded(c.line) || c.start < loop.end || py.functionAt(c) !== fn) return false;
      // Replaying a recorded history in a loop of its own (with steps) rebuilds the curve; a single
      // call after the loop is one point whatever `step=` it is given.
      if (py.loopsAt(c).some((l) => py.functionAt(l) === fn && !isWithin(loop, l))) return false;
      const keys = loggedKeys(c);
      if (keys.length > 0 && keys.every((k) => /test/i.test(k))) return false;
      return [...namesIn(c.argsNode)].some((n) => perEpoch.has(n)) || keys.some((k) => PER_EPOCH_KEY.test(k));
    });
    if (!late) continue;
    ctx.report(late, {
      message:
        `The training loop (line ${loop.line}) logs nothing while it runs; this metric is logged once, after it ends. ` +
        "The run then has a single point instead of a training curve, so divergence, overfitting or a stalled loss " +
        "cannot be seen, and a crashed run records nothing. Log inside the loop, e.g. " +
        '`mlflow.log_metric("train_loss", loss, step=epoch)`.',
    });
  }
});
