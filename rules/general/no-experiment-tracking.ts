import { boolValue } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { reportRun, type TrainingRun, trainingRuns, visibleCallbacks } from "./_training.js";

// Anything that records a run somewhere other than the console: a tracking library, a
// framework logger or callback, a metrics writer, results written to a file, or a log file
// (`logging.FileHandler`, `basicConfig(filename=...)`, a loguru file sink), or Ray's
// `train.report(...)` (Ray writes every reported result to the run's result files).
const TRACKS =
  /\b(mlflow|wandb|tensorboard|tensorboardX|SummaryWriter|comet_ml|neptune|clearml|dvclive|sacred|visdom|swanlab|trackio|polyaxon|report_to|TensorBoard|log_metrics?|add_scalars?|log_scalar|log_hyperparams|to_csv|csv\.writer|json\.dump)\b|\btf\.summary\b|\b(import|from) aim\b|\b[A-Z]\w*(Logger|Tracker|Writer)\s*\(|\b(FileHandler|RotatingFileHandler)\s*\(|\bbasicConfig\s*\([^)]*\bfilename\s*=|\blogger\.add\s*\(\s*f?["']|\b(train|tune|session)\.report\s*\(/;

type Kind = Exclude<TrainingRun["site"]["kind"], "hf">;

const MESSAGES: Record<Kind, string> = {
  loop:
    "This training script records its run nowhere but the console: losses, metrics and hyperparameters are gone once the terminal is, so runs cannot be compared or reproduced. " +
    "Log them to a tracker: MLflow (`mlflow.log_params`/`mlflow.log_metric`), W&B (`wandb.init(config=...)`/`wandb.log`) or TensorBoard (`SummaryWriter().add_scalar`).",
  keras:
    "This training script records its run nowhere but the console, so runs cannot be compared or reproduced later. " +
    "Add a tracker: `mlflow.autolog()`, a W&B callback, or `keras.callbacks.TensorBoard(log_dir)` / `CSVLogger` in `callbacks=`.",
  lightning:
    "`logger=False` turns off Lightning's default logger and nothing else records the run, so its metrics and hyperparameters are lost. " +
    "Keep the default logger or pass one (`TensorBoardLogger`, `MLFlowLogger`, `WandbLogger`, `CSVLogger`).",
  estimator:
    "This training script records its run nowhere but the console, so parameters and scores cannot be compared across runs. " +
    "Track it with MLflow (`mlflow.sklearn.autolog()` or `log_params`/`log_metric`) or W&B.",
};

export default defineCheck((ctx) => {
  if (TRACKS.test(ctx.text)) return;
  const { py } = ctx;
  const isTrainScript = /train[^/]*\.py$/i.test(ctx.path);
  const untracked = trainingRuns(ctx).filter((run) => {
    const { kind, call } = run.site;
    // Lightning logs to TensorBoard or CSV by default; only `logger=False` turns that off.
    if (kind === "lightning") return boolValue(run.trainer?.keywords.get("logger")) === false;
    // A callbacks list built elsewhere may hold a tracker callback.
    if (kind === "keras") return call !== undefined && visibleCallbacks(py, call) !== undefined;
    if (kind === "estimator") return isTrainScript;
    // The HF Trainer reports to installed integrations depending on `report_to` and its version.
    return kind === "loop";
  });
  reportRun(ctx, untracked, (run) => MESSAGES[run.site.kind as Kind]);
});
