import { defineCheck } from "../../src/engine/rule.js";
import { firstReportable } from "./_training.js";

// Ways a run ends up with the versions it ran with: reading them (`__version__`,
// importlib.metadata, `pip freeze`), or an MLflow model log / autolog, which writes the model's
// pinned pip requirements next to it.
const RECORDS_VERSIONS =
  /__version__|pip\s+freeze|\bfreeze\s*\(|importlib[._]metadata|pkg_resources|get_distribution|autolog\s*\(|log_model\s*\(|requirements\.txt|pip_requirements|conda_env|sys\.version|python_version\s*\(/;

const NO_MODEL_AUTOLOG = /\bautolog\s*\([^)]*\blog_models\s*=\s*False[^)]*\)/g;

// W&B saves the environment's requirements with each run unless this is switched off.
const WANDB_REQUIREMENTS_OFF = /_save_requirements\s*=\s*False\b/;

export default defineCheck((ctx) => {
  const { py } = ctx;
  const runs = py.callsTo("mlflow.start_run", "wandb.init");
  // `autolog(log_models=False)` logs params and metrics but no model, so no pinned requirements.
  if (runs.length === 0 || RECORDS_VERSIONS.test(ctx.text.replace(NO_MODEL_AUTOLOG, ""))) return;
  const wandbBlind = WANDB_REQUIREMENTS_OFF.test(ctx.text);
  const candidates = runs.filter((c) => c.is("mlflow.start_run") || wandbBlind);
  const hit = firstReportable(ctx, candidates);
  if (!hit) return;
  const message = hit.is("wandb.init")
    ? "This W&B run has its requirements capture switched off (`x_save_requirements=False`) and logs no library versions itself, so the run does not say which torch / numpy / … versions produced it. " +
      'Keep W&B\'s requirements file, or add the versions to the config: `wandb.config.update({"torch": torch.__version__})`.'
    : "This MLflow run records no library versions: it keeps the params, metrics and git commit you log, not which torch / sklearn / numpy versions produced them, so a result may not reproduce after an upgrade. " +
      'Log them (`mlflow.set_tags({"torch": torch.__version__, ...})`), or log the model with `mlflow.<flavor>.log_model` or `mlflow.autolog()`, which record pinned pip requirements.';
  ctx.report(hit, { message });
});
