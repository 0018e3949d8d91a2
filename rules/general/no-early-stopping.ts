import type { Node } from "web-tree-sitter";
import { defineCheck } from "../../src/engine/rule.js";
import {
  firstReportable,
  libraryTrainingRuns,
  mentionsHeldOut,
  trainingRuns,
  visibleCallbacks,
  withoutValidationLoss,
} from "./_training.js";

// Hand-written early stopping has many spellings; any of these words means the run can stop on
// its own: a patience counter, an `EarlyStopping` callback, `trainer.should_stop`, a stale-epoch count,
// an Optuna pruning callback or `trial.should_prune()`.
const STOPS =
  /early_?stop|EarlyStopping|patience|should_stop|stop_training|no_?improve|not_improved|epochs_(without|since)|bad_epochs|num_bad|Pruning|should_prune|TrialPruned/i;

const MESSAGE =
  "Training runs for a fixed number of epochs with no early stopping, so it keeps going (and overfitting) after the validation metric stops improving, " +
  "and the weights you end with are the last epoch's, not the best. Stop on a validation metric with a patience: " +
  '`EarlyStopping(monitor="val_loss", patience=5)` (Keras `restore_best_weights=True`, Lightning `lightning.pytorch.callbacks.EarlyStopping`), ' +
  "or a patience counter in the loop.";

// Without any held-out pass there is nothing to stop on yet; the advice says so.
const NO_VALIDATION_MESSAGE =
  "Training runs for a fixed number of epochs with no early stopping, and nothing in this run is evaluated on held-out data, so there is no signal to stop on: " +
  "it trains the whole budget and keeps the last epoch's weights even after it starts to overfit. Evaluate a validation split every epoch, then stop on it with a patience: " +
  '`EarlyStopping(monitor="val_loss", patience=5)` (Keras `restore_best_weights=True`, Lightning `lightning.pytorch.callbacks.EarlyStopping`), ' +
  "or a patience counter in the loop.";

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (STOPS.test(ctx.text) || withoutValidationLoss(ctx.text)) return;
  const candidates: { line: number }[] = [];
  // A library training helper counts once it validates: the stopping logic then belongs next to
  // its validation pass, which the calling script cannot reach. Without one, the caller decides.
  const library = mentionsHeldOut(ctx.text) ? libraryTrainingRuns(ctx) : [];
  for (const run of [...trainingRuns(ctx), ...library]) {
    const { kind, loop, call } = run.site;
    if (kind === "loop" && loop) {
      // A `for epoch in range(...)` with any `break` inside may already stop early.
      if (!/\b(t?range)\s*\(/.test(loop.iter?.text ?? "") || /\bbreak\b/.test(loop.body.text)) continue;
      if (/^t?range\s*\(\s*[0-2]\s*\)$/.test(loop.iter?.text ?? "")) continue;
      candidates.push({ line: loop.line });
    } else if (kind === "keras" && call) {
      const epochs = call.keywords.get("epochs");
      if (epochs && !fewEpochs(epochs) && visibleCallbacks(py, call) !== undefined)
        candidates.push({ line: lineOf(epochs) });
    } else if (kind === "lightning" && run.trainer) {
      const epochs = run.trainer.keywords.get("max_epochs");
      if (
        epochs &&
        !fewEpochs(epochs) &&
        !run.trainer.keywords.has("fast_dev_run") &&
        visibleCallbacks(py, run.trainer) !== undefined
      )
        candidates.push({ line: lineOf(epochs) });
    }
  }
  candidates.sort((a, b) => a.line - b.line);
  const hit = firstReportable(ctx, candidates);
  if (hit)
    ctx.report({ line: hit.line }, { message: mentionsHeldOut(ctx.text) ? MESSAGE : NO_VALIDATION_MESSAGE });
});

/** One or two epochs (`epochs=1`, a smoke run): there is no later epoch to stop before. */
function fewEpochs(node: Node): boolean {
  return node.type === "integer" && Number(node.text) <= 2;
}

function lineOf(node: Node): number {
  return node.startPosition.row + 1;
}
