import { boolValue, closest, isWithin } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { fluent, isWithItem } from "./_lib.js";

const IN_LOOP =
  "`mlflow.start_run()` runs on every iteration of this loop but the run is not ended inside it, so the " +
  "second iteration fails because a run is already active (with `nested=True`, each run nests under the " +
  "previous one instead). Start it with `with mlflow.start_run(...):` in the loop body, or end it with " +
  "`mlflow.end_run()` in a `finally:` inside the loop.";
const IN_LOOP_NESTED =
  "This nested run is started on every iteration and never ended inside the loop, so each iteration's run " +
  "becomes a child of the previous iteration's instead of the parent. Use `with mlflow.start_run(nested=True):` " +
  "in the loop body, or call `mlflow.end_run()` before the next iteration.";
const NEVER_ENDED =
  "This run is started outside a `with` block and never ended in this file. MLflow only ends it when the " +
  "interpreter exits, recording it as FINISHED even if the script crashed, and any later `start_run()` in the " +
  "same process (a notebook, a sweep, a test session) fails while it is still active. Use " +
  "`with mlflow.start_run():`, or `try: ... finally: mlflow.end_run()`.";

export default defineCheck((ctx) => {
  const { py } = ctx;
  const starts = fluent(py, "start_run");
  if (starts.length === 0) return;
  const ends = fluent(py, "end_run");
  // This file's own helpers that end the active run (`finish_run()`, `self._close_tracking()`).
  const enders = new Set(py.functions.filter((f) => ends.some((e) => isWithin(e, f))).map((f) => f.name));
  for (const call of starts) {
    if (isWithItem(py, call)) continue;
    // Handed to something else to manage: `stack.enter_context(mlflow.start_run())`, `return mlflow.start_run()`.
    const parent = call.node.parent;
    if (!parent || ["argument_list", "return_statement", "yield", "keyword_argument"].includes(parent.type))
      continue;
    if (parent.type === "assignment") {
      const name = parent.childForFieldName("left")?.text;
      if (name && py.withs.some((w) => w.items.some((i) => i.value.text === name))) continue;
    }
    const fn = py.functionAt(call);
    const sameFn = ends.filter((e) => py.functionAt(e) === fn);
    if (sameFn.some((e) => e.start > call.end && closest(e.node, "finally_clause"))) continue;
    const loop = py.loopsAt(call).find((l) => py.functionAt(l) === fn);
    if (loop) {
      if (sameFn.some((e) => loop.start <= e.start && e.end <= loop.end)) continue;
      if (py.callsIn(loop.body).some((c) => c.method !== undefined && enders.has(c.method))) continue;
      ctx.report(call, { message: boolValue(call.arg("nested")) === true ? IN_LOOP_NESTED : IN_LOOP });
    } else if (ends.length === 0) {
      ctx.report(call, { message: NEVER_ENDED });
    }
  }
});
