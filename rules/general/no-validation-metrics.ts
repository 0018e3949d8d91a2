import { defineCheck } from "../../src/engine/rule.js";
import {
  mentionsHeldOut,
  reportingTrainingLoops,
  reportRun,
  type TrainingRun,
  trainingRuns,
  withoutValidationLoss,
} from "./_training.js";

// Any sign of a held-out pass anywhere in the file keeps the rule silent (see `mentionsHeldOut`).

/** For a Lightning `fit`, true only when a training loader is passed and nothing that could validate. */
function lightningWithoutVal(run: TrainingRun): boolean {
  const call = run.site.call!;
  if (call.hasSplat || call.args.length > 2) return false;
  if (["val_dataloaders", "datamodule"].some((k) => call.keywords.has(k))) return false;
  const train = call.arg("train_dataloaders", 1);
  // `trainer.fit(model)` may use the module's own dataloader hooks; a DataModule may validate.
  if (
    !train ||
    !/loader|_dl\b|^dl\b|train/i.test(train.text) ||
    /dm\b|datamodule|data_module/i.test(train.text)
  )
    return false;
  return true;
}

const MESSAGES: Record<TrainingRun["site"]["kind"], string> = {
  loop:
    "This training loop only ever sees training data: nothing is evaluated on a held-out split, so overfitting and regressions go unnoticed. " +
    "Hold out a validation set and evaluate it every epoch (under `model.eval()` and `torch.no_grad()`), tracking its loss and metrics next to the training ones.",
  keras:
    "`fit` gets no `validation_data` or `validation_split`, so Keras reports training loss and metrics only and overfitting goes unnoticed. " +
    "Pass `validation_data=(x_val, y_val)` (or `validation_split=0.1`) so every epoch also reports `val_*` values.",
  lightning:
    "`trainer.fit` gets a training loader but no `val_dataloaders` (or DataModule), so Lightning never runs `validation_step` and only training values are logged. " +
    "Pass a validation loader (`trainer.fit(model, train_loader, val_loader)`) or a `LightningDataModule` with `val_dataloader()`.",
  hf:
    "This Trainer has no `eval_dataset` and no evaluation, so only the training loss is tracked and overfitting goes unnoticed. " +
    'Pass `eval_dataset=` and set `eval_strategy` (`evaluation_strategy` before transformers 4.41) to `"epoch"` or `"steps"`.',
  estimator:
    "The model is only ever scored on the data it was fitted on; nothing in this run measures it on held-out data. " +
    "Split off a test set with `train_test_split` (or use `cross_val_score`) and report the metrics on that.",
};

export default defineCheck((ctx) => {
  const runs = [...trainingRuns(ctx), ...reportingTrainingLoops(ctx)];
  if (runs.length === 0 || mentionsHeldOut(ctx.text) || withoutValidationLoss(ctx.text)) return;
  const { py } = ctx;
  const scoresTraining = py.calls.some((c) => c.method === "score" || c.is("sklearn.metrics.*"));
  const unvalidated = runs.filter((run) => {
    const { kind, call } = run.site;
    if (kind === "lightning") return lightningWithoutVal(run);
    if (kind === "hf") return run.trainer !== undefined && !run.trainer.hasSplat;
    // "Tracks only training metrics" needs some metric: a bare fit (a final refit) is left alone.
    if (kind === "estimator") return scoresTraining;
    return !call?.hasSplat;
  });
  reportRun(ctx, unvalidated, (run) => MESSAGES[run.site.kind]);
});
