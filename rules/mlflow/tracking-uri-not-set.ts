import { isEntryPoint } from "../../src/engine/python/entrypoint.js";
import { isTestPath } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { fluent, onTriggerLine } from "./_lib.js";

// A helper of the project's own that presumably configures tracking (`setup_mlflow(cfg)`).
const SETUP_HELPER =
  /^_?(setup|set_up|init|initialize|initialise|configure|config|connect)_?\w*(mlflow|tracking|tracker)|^_?(mlflow|tracking|tracker)_?(setup|init|initialize|initialise|config|configure|connect)/i;

export default defineCheck((ctx) => {
  const { py } = ctx;
  const runs = fluent(py, "start_run", "set_experiment");
  if (runs.length === 0) return;
  // The environment variable (read, set or documented), and Databricks notebooks, which preset it.
  if (/MLFLOW_TRACKING_URI|^# Databricks notebook source/m.test(ctx.text)) return;
  if (fluent(py, "set_tracking_uri", "tracking.set_tracking_uri", "login").length > 0) return;
  if (py.calls.some((c) => c.keywords.has("tracking_uri"))) return;
  if (py.callsTo("dotenv.load_dotenv", "dotenv.find_dotenv", "dotenv.dotenv_values").length > 0) return;
  if (py.calls.some((c) => c.method && SETUP_HELPER.test(c.method))) return;
  // A script: an entry point, or a run started by module-level code (it runs whenever the file does).
  const script =
    isEntryPoint(py, ctx.path) || (!isTestPath(ctx.path) && runs.some((c) => py.isModuleLevel(c)));
  if (!script) return;
  const at = runs.find((c) => ctx.isAdded(c.line) && onTriggerLine(ctx, c.line));
  if (!at) return;
  ctx.report(at, {
    message:
      "This script logs to MLflow without choosing a tracking server: no `mlflow.set_tracking_uri(...)` and no " +
      "`MLFLOW_TRACKING_URI`. MLflow then writes to a local store in whatever directory the script is started " +
      "from (`./mlruns`, or `mlflow.db` since MLflow 3.7), so runs end up scattered and invisible to the team's " +
      'server. Set it explicitly, e.g. `mlflow.set_tracking_uri(os.environ.get("MLFLOW_TRACKING_URI", ...))` ' +
      "or from the config.",
  });
});
