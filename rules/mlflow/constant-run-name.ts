import type { Node } from "web-tree-sitter";
import { boolValue, isTestPath, stringValue } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { fluent, isClientCall } from "./_lib.js";

const LOGGERS = ["lightning.pytorch.loggers.MLFlowLogger", "lightning.pytorch.loggers.mlflow.MLFlowLogger"];

/** The fixed text a `run_name` always has, or undefined when it can vary between executions. */
function constantName(py: PythonModel, value: Node, call: CallSite): string | undefined {
  const direct = stringValue(value);
  if (direct !== undefined) return direct;
  if (value.type !== "identifier") return undefined;
  const fn = py.functionAt(call);
  // A parameter (`def train(run_name="baseline")`) is the caller's to choose.
  if (fn?.params.some((p) => p.name === value.text)) return undefined;
  const local = py.lastAssignment(value.text, call);
  if (local)
    return local.targets.length === 1 && !py.loopsAt(local).length ? stringValue(local.value) : undefined;
  // A module-level constant bound once: `RUN_NAME = "baseline"`.
  const bindings = py.assignments.filter((a) => a.targets.includes(value.text));
  if (bindings.length !== 1 || !py.isModuleLevel(bindings[0]) || bindings[0].targets.length !== 1)
    return undefined;
  return stringValue(bindings[0].value);
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  const candidates = [
    ...fluent(py, "start_run"),
    ...py.callsTo(...LOGGERS).filter((c) => c.imported),
    ...py.methodCalls("create_run").filter((c) => isClientCall(py, c)),
  ];
  for (const call of candidates) {
    const value = call.keywords.get("run_name");
    if (!value) continue;
    // A child run is told apart by its parent, unless its siblings (a loop) share the name.
    if (
      boolValue(call.arg("nested")) === true &&
      !py.loopsAt(call).some((l) => py.functionAt(l) === py.functionAt(call))
    )
      continue;
    const name = constantName(py, value, call);
    if (!name) continue;
    ctx.report(value.parent ?? value, {
      message:
        `Every execution of this code names its run \`${name}\`, so the experiment fills with runs that ` +
        "cannot be told apart by name and searches or comparisons by `run_name` pick the wrong one. " +
        "Build the name from what varies (an f-string with the key parameters or a timestamp), or leave " +
        'it unset and group runs with `tags={"group": ...}`.',
    });
  }
});
