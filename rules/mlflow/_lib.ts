import { constructorOf } from "../../src/engine/python/flow.js";
import { boolValue } from "../../src/engine/python/helpers.js";
import type { CallSite, Loop, PythonModel } from "../../src/engine/python/model.js";

export { onTriggerLine } from "../../src/engine/rule.js";

// Shared by the mlflow checks (not a rule: no YAML beside it). MLflow has two APIs: the fluent
// one (`mlflow.log_metric`, acting on the active run) and `MlflowClient` methods taking a run id.
// Rules reason about the fluent API by qualified name and only use client calls as evidence.

/** Imported calls of the fluent API: `fluent(py, "log_metric")` finds `mlflow.log_metric(...)`. */
export function fluent(py: PythonModel, ...names: string[]): CallSite[] {
  return py.callsTo(...names.map((n) => `mlflow.${n}`)).filter((c) => c.imported);
}

const CLIENT_CLASSES = ["mlflow.MlflowClient", "mlflow.tracking.MlflowClient", "mlflow.client.MlflowClient"];

/** True when the call is a method of an `MlflowClient` built in this file (`client.create_run(...)`). */
export function isClientCall(py: PythonModel, call: CallSite): boolean {
  const ctor = constructorOf(py, call.receiver, call);
  return ctor !== undefined && CLIENT_CLASSES.includes(ctor);
}

/** `mlflow.autolog()` and flavour autologs (`mlflow.sklearn.autolog()`), unless `disable=True`. */
export function autologCalls(py: PythonModel): CallSite[] {
  return py
    .callsTo("mlflow.autolog", "mlflow.*.autolog")
    .filter((c) => c.imported && boolValue(c.arg("disable")) !== true);
}

/** The flavour an autolog call covers: `sklearn` for `mlflow.sklearn.autolog`, `*` for `mlflow.autolog`. */
export function autologFlavor(call: CallSite): string {
  const parts = call.name?.split(".") ?? [];
  return parts.length === 3 ? parts[1] : "*";
}

/** True when `call` is the context expression of a `with` item (`with mlflow.start_run() as run:`). */
export function isWithItem(py: PythonModel, call: CallSite): boolean {
  return py.withsAt(call).some((w) => w.items.some((i) => i.value.startIndex === call.start));
}

/** The stretch of code a run covers: a `with` body, or from a bare `start_run()` to the end of its scope. */
export interface RunRegion {
  call: CallSite;
  start: number;
  end: number;
}

export function runRegions(py: PythonModel): RunRegion[] {
  return fluent(py, "start_run").map((call) => {
    const w = py.withsAt(call).find((b) => b.items.some((i) => i.value.startIndex === call.start));
    if (w) return { call, start: w.body.startIndex, end: w.body.endIndex };
    const scope = py.functionAt(call)?.body ?? py.tree.rootNode;
    return { call, start: call.end, end: scope.endIndex };
  });
}

// ---- training ----------------------------------------------------------------------------------

const TRAIN_METHODS = /^(fit|fit_generator|train|train_model|train_epoch|train_one_epoch|backward)$/;

/**
 * Loops that train: an epoch loop (the loop's header names an epoch), or a loop whose body runs
 * backward / an optimiser step / a per-epoch training helper.
 */
export function trainingLoops(py: PythonModel): Loop[] {
  return py.loops.filter((loop) => {
    const header = loop.node.text.slice(0, loop.body.startIndex - loop.start);
    if (/epoch/i.test(header)) return true;
    return py
      .callsIn(loop.body)
      .some(
        (c) =>
          c.method === "backward" ||
          (c.method === "step" && /optim|opt\b|optimizer/i.test(c.receiver?.text ?? "")) ||
          /^(train_epoch|train_one_epoch|run_epoch|train_step)$/.test(c.method ?? ""),
      );
  });
}

/** Calls that train a model in one go (`model.fit(X, y)`, `trainer.fit(module)`, `xgb.train(...)`). */
export function trainingCalls(py: PythonModel): CallSite[] {
  return py.calls.filter((c) => {
    if (c.method === undefined || c.method === "backward" || !TRAIN_METHODS.test(c.method)) return false;
    // `model.train()` / `model.train(False)` switch PyTorch modes; they train nothing. A trainer's
    // `train()` (Hugging Face, custom trainers) takes no arguments and does train.
    const args = c.args.length + c.keywords.size;
    if (args === 0) return /trainer|learner/i.test(c.receiver?.text ?? "");
    return !(c.method === "train" && args === 1 && boolValue(c.args[0]) !== undefined);
  });
}
