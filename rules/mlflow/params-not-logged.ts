import { isEntryPoint } from "../../src/engine/python/entrypoint.js";
import { rootName } from "../../src/engine/python/flow.js";
import { isTestPath, namesIn } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel, Span } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import {
  autologCalls,
  fluent,
  onTriggerLine,
  type RunRegion,
  runRegions,
  trainingCalls,
  trainingLoops,
} from "./_lib.js";

// Calls that record the run's configuration some other way: a client or logger API, Lightning's
// hyperparameter logging, or a config file logged as an artifact.
const PARAM_METHODS = new Set([
  "log_param",
  "log_params",
  "log_hyperparams",
  "save_hyperparameters",
  "log_batch",
]);
const CONFIG_ARTIFACT = new Set(["log_dict", "log_text", "log_artifact", "log_artifacts"]);
const CONFIG_WORDS = /conf|cfg|param|hparam|args|settings|\.ya?ml|\.json|\.toml/i;
const HELPER = /^_?log_?\w*(param|config|cfg|hparam|hyperparam|args|settings)/i;
// Values that only exist once training is over (search results, fitted attributes).
// `self.params` / `cfg.params` are the configuration, not a fitted result (`res.params` in statsmodels).
const FITTED_VALUE = /best|\w_\b|(?<!\b(?:self|cfg|config|conf|args))\.params\b|results|study|trial/i;

/** What a fit call trains: `model` for `model.fit`, `self.model` for `self.model.fit`. */
function trainedName(receiver: string): string | undefined {
  const attr = /^\s*self\s*\.\s*([A-Za-z_]\w*)/.exec(receiver);
  return attr ? `self.${attr[1]}` : rootName(receiver);
}

/** True when the logged values read the trained object (`model.get_params()`, `self.model.coef_`). */
function readsTrained(args: CallSite["argsNode"], trained: string): boolean {
  if (!trained.startsWith("self.")) return namesIn(args).has(trained);
  return new RegExp(`\\bself\\s*\\.\\s*${trained.slice(5)}\\b`).test(args.text);
}

function recordsParams(py: PythonModel): boolean {
  if (autologCalls(py).length > 0) return true;
  if (
    py.callsTo("lightning.pytorch.loggers.MLFlowLogger", "lightning.pytorch.loggers.mlflow.MLFlowLogger")
      .length
  )
    return true;
  return py.calls.some((c) => {
    const m = c.method ?? "";
    // Integrations that log the whole configuration: Hugging Face `report_to=`, Ray Tune's callback.
    if (c.keywords.has("report_to") || /^(MLflowCallback|MLflowLoggerCallback)$/i.test(m)) return true;
    if (PARAM_METHODS.has(m) || HELPER.test(m)) return true;
    // MLflow 3: `log_model(..., params={...})` records the parameters on the logged model.
    if (m === "log_model" && c.keywords.has("params")) return true;
    return CONFIG_ARTIFACT.has(m) && CONFIG_WORDS.test(c.argsNode.text);
  });
}

/** The first training step (a fit call or a training loop) inside `region`, in the same function as `at`. */
function firstTraining(
  py: PythonModel,
  region: RunRegion,
  at: CallSite,
): { span: Span; trained?: string } | undefined {
  const fn = py.functionAt(at);
  const inScope = (s: Span) => region.start <= s.start && s.end <= region.end && py.functionAt(s) === fn;
  const call = trainingCalls(py).find(inScope);
  const loop = trainingLoops(py).find(inScope);
  if (call && (!loop || call.start < loop.start)) {
    return { span: call, trained: call.receiver ? trainedName(call.receiver.text) : undefined };
  }
  return loop ? { span: loop } : undefined;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  // Tests exercise tracking code with throwaway runs; they are not experiments.
  if (isTestPath(ctx.path)) return;
  const logs = [
    ...fluent(py, "log_metric", "log_metrics"),
    ...py.callsTo("mlflow.*.log_model").filter((c) => c.imported),
  ];
  if (logs.length === 0) return;
  const starts = fluent(py, "start_run");
  if (starts.length === 0 && !isEntryPoint(py, ctx.path)) return;
  const trains =
    trainingCalls(py).length > 0 ||
    trainingLoops(py).length > 0 ||
    logs.some((c) => c.method === "log_model");
  if (!trains) return;

  const explicit = fluent(py, "log_param", "log_params");
  if (!recordsParams(py)) {
    const candidates = [...starts, ...logs].filter((c) => ctx.isAdded(c.line) && onTriggerLine(ctx, c.line));
    // A line spelled `mlflow.` first; an aliased import (`import mlflow as mf`) leaves only the calls.
    const at = candidates.find((c) => /\bmlflow\./.test(ctx.lines[c.line - 1] ?? "")) ?? candidates[0];
    if (!at) return;
    const model = logs.some((c) => c.method === "log_model");
    const metrics = logs.some((c) => c.method !== "log_model");
    const what = model && metrics ? "metrics and a model" : model ? "a model" : "metrics";
    ctx.report(at, {
      message:
        `This run logs ${what} but none of the parameters that produced ${model && !metrics ? "it" : "them"}: no \`mlflow.log_param(s)\`, no ` +
        "autolog, no config logged. Nobody can tell later which learning rate, data or settings gave these " +
        "numbers, or rerun them. Log the resolved hyperparameters with `mlflow.log_params(...)` right after " +
        "`start_run()`, before training (or enable `mlflow.autolog()`).",
    });
    return;
  }
  if (explicit.length === 0 || explicit.length !== py.methodCalls("log_param", "log_params").length) return;
  // Parameters logged, but only once training is over: a crash loses them and the live run shows none.
  for (const region of runRegions(py)) {
    const inBlock = explicit.filter((c) => region.start <= c.start && c.end <= region.end);
    if (inBlock.length === 0) continue;
    const training = firstTraining(py, region, inBlock[0]);
    if (!training || inBlock.some((c) => c.start < training.span.end)) continue;
    const late = inBlock.find((c) => {
      if (FITTED_VALUE.test(c.argsNode.text)) return false;
      return !(training.trained && readsTrained(c.argsNode, training.trained));
    });
    if (!late || !ctx.isAdded(late.line) || !onTriggerLine(ctx, late.line)) continue;
    ctx.report(late, {
      message:
        `Parameters are logged only after training has run (line ${training.span.line}). If training fails or is ` +
        "stopped, the run keeps its metrics and checkpoints but not the settings that produced them, and while it " +
        "runs nobody can see what it is trying. Log the hyperparameters right after `start_run()`, before training.",
    });
  }
});
