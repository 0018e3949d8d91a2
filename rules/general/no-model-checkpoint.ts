import { boolValue } from "../../src/engine/python/helpers.js";
import type { PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { Calls, fitsWithoutCallbacks } from "../keras/_lib.js";
import {
  callMatching,
  isExamplePath,
  reportRun,
  type TrainingRun,
  trainingRuns,
  visibleCallbacks,
} from "./_training.js";

// Any call that may persist the model keeps the rule silent, own helpers included
// (`save_model(...)`, `utils.save_ckpt(...)`): torch.save, joblib/pickle dump, model.save,
// save_pretrained, save_checkpoint, ModelCheckpoint, mlflow log_model / autolog, ONNX export.
const SAVES =
  /save(?!fig|txt)|ckpt|checkpoint|dump|export|persist|serializ|log_model|push_to_hub|autolog|to_onnx/i;

const MESSAGES: Record<TrainingRun["site"]["kind"], string> = {
  loop:
    "This training script never saves the model, so the trained weights are lost when it ends or crashes and the best epoch cannot be recovered. " +
    "Save a checkpoint, e.g. `torch.save({'model': model.state_dict(), 'optimizer': optimizer.state_dict(), 'epoch': epoch}, path)` when the validation metric improves.",
  keras:
    "This training run never saves the model: no `ModelCheckpoint` callback and no `model.save(...)`, so the trained weights are lost when the script ends. " +
    'Add `keras.callbacks.ModelCheckpoint("best.keras", save_best_only=True)` to `callbacks=` or call `model.save("model.keras")` after training.',
  lightning:
    "`enable_checkpointing=False` turns off Lightning's automatic checkpointing and nothing else saves the model, so the trained weights are lost when the run ends. " +
    "Drop the flag (or add a `ModelCheckpoint` callback), or call `trainer.save_checkpoint(path)` after `fit`.",
  hf:
    '`save_strategy="no"` turns off the Trainer\'s checkpoints and nothing else saves the model, so the fine-tuned weights are lost when the run ends. ' +
    'Call `trainer.save_model(output_dir)` after training, or save with `save_strategy="epoch"`.',
  estimator:
    "This training script fits the model but never saves it, so the fitted model is lost when the script ends. " +
    'Persist it with `joblib.dump(model, "model.joblib")` (or `skops.io.dump`), together with its preprocessing (ideally one `Pipeline`).',
};

/** True when the run saves the model without an explicit call, or may (callbacks we cannot see). */
function savesByItself(py: PythonModel, run: TrainingRun, text: string): boolean {
  const { kind, call } = run.site;
  if (kind === "lightning") {
    // Lightning saves a checkpoint of the last epoch unless told not to.
    const t = run.trainer;
    if (!t || t.hasSplat) return true;
    const flag = t.keywords.get("enable_checkpointing") ?? t.keywords.get("checkpoint_callback");
    return boolValue(flag) !== false;
  }
  // The HF Trainer writes checkpoints every `save_steps` unless `save_strategy="no"`.
  if (kind === "hf") return !/\bsave_strategy\s*=\s*["']no["']/.test(text);
  // Callbacks built by a helper may include a checkpoint.
  if (kind === "keras" && call) return visibleCallbacks(py, call) === undefined;
  return false;
}

export default defineCheck((ctx) => {
  // Examples and tutorials train to show an API; keeping the weights is beside their point.
  if (isExamplePath(ctx.path)) return;
  const runs = trainingRuns(ctx);
  if (runs.length === 0) return;
  const { py } = ctx;
  if (callMatching(py, SAVES)) return;
  // A script that fits an estimator and scores it is an experiment; a `train*.py` that fits one is a training job.
  const isTrainScript = /train[^/]*\.py$/i.test(ctx.path);
  // A Keras `fit` for many epochs with no callbacks is left to `keras/fit-without-callbacks`,
  // whose message already asks for a `ModelCheckpoint`: one comment on the line, not two.
  const leftToKeras = runs.some((run) => run.site.kind === "keras")
    ? new Set(fitsWithoutCallbacks(new Calls(py)).map((f) => f.fit.start))
    : new Set<number>();
  const unsaved = runs.filter(
    (run) =>
      !savesByItself(py, run, ctx.text) &&
      (run.site.kind !== "estimator" || isTrainScript) &&
      !(run.site.kind === "keras" && run.site.call && leftToKeras.has(run.site.call.start)),
  );
  reportRun(ctx, unsaved, (run) => MESSAGES[run.site.kind]);
});
