import type { Node } from "web-tree-sitter";
import { boolValue, closest, isWithin } from "../../src/engine/python/helpers.js";
import type { CallSite, Loop } from "../../src/engine/python/model.js";
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

/** A `continue`/`break` of this loop between the start and every `end_run()` after it, if any. */
function skippedEnd(loop: Loop, start: CallSite, ends: CallSite[]): Node | undefined {
  const firstEnd = ends.find((e) => e.start > start.end);
  if (!firstEnd) return undefined;
  const jumps = loop.body.descendantsOfType(["continue_statement", "break_statement"]);
  return (
    jumps.find(
      (j): j is Node =>
        j !== null &&
        j.startIndex > start.end &&
        j.startIndex < firstEnd.start &&
        closest(j, "for_statement", "while_statement")?.startIndex === loop.start,
    ) ?? undefined
  );
}

const BRANCH = new Set(["if_statement", "except_clause", "conditional_expression", "match_statement"]);

/** The innermost `if`/`except`/`match` inside the loop that `node` depends on, if any. */
function guardIn(node: Node, loop: Loop): Node | undefined {
  for (let n = node.parent; n && n.startIndex >= loop.start; n = n.parent) {
    if ((n.type === "for_statement" || n.type === "while_statement") && n.startIndex === loop.start)
      return undefined;
    if (BRANCH.has(n.type)) return n;
  }
  return undefined;
}

/**
 * The `end_run()` of a loop when every one in it runs only under a condition (`if done: end_run()`)
 * and no `if`/`else` ends the run in both branches, so some iterations leave the run open.
 */
function conditionalEnd(loop: Loop, inLoop: CallSite[]): CallSite | undefined {
  const guards = inLoop.map((e) => guardIn(e.node, loop));
  if (guards.some((g) => g === undefined)) return undefined;
  const both = guards.some((g) => {
    if (g?.type !== "if_statement") return false;
    const alt = g.namedChildren.filter((c) => c?.type === "else_clause" || c?.type === "elif_clause");
    const cons = g.childForFieldName("consequence");
    const inside = (b: Node | null | undefined) =>
      b ? inLoop.some((e) => e.start >= b.startIndex && e.end <= b.endIndex) : false;
    return alt.some((a) => a?.type === "else_clause") && inside(cons) && alt.every((a) => inside(a));
  });
  return both ? undefined : inLoop[0];
}

/**
 * A `return` of the function between the start and its last `end_run()` whose own block does not
 * end the run first (`if bad: return` with the run still open), if any.
 */
function skippingReturn(body: Node | undefined, start: CallSite, ends: CallSite[]): Node | undefined {
  const later = ends.filter((e) => e.start > start.end);
  if (!body || later.length === 0) return undefined;
  const last = later[later.length - 1];
  const fnStart = closest(start.node, "function_definition")?.startIndex;
  return (
    body.descendantsOfType("return_statement").find((r): r is Node => {
      if (!r || r.startIndex < start.end || r.startIndex > last.start) return false;
      if (closest(r, "function_definition", "lambda")?.startIndex !== fnStart) return false;
      const block = closest(r, "block");
      return !later.some((e) => block && e.start >= block.startIndex && e.start < r.startIndex);
    }) ?? undefined
  );
}

/** True when the function body returns or yields `name` (alone or inside a tuple). */
function handsOn(body: Node, name: string): boolean {
  const isName = (n: Node | null): boolean =>
    n !== null &&
    (n.text === name || (n.type === "expression_list" && n.namedChildren.some((e) => e?.text === name)));
  return body
    .descendantsOfType(["return_statement", "yield"])
    .some((r) => r?.namedChildren.some(isName) ?? false);
}

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
      // `run = mlflow.start_run(); return run`: a helper handing the active run to its caller.
      const body = py.functionAt(call)?.body;
      if (name && body && handsOn(body, name)) continue;
    }
    const fn = py.functionAt(call);
    const sameFn = ends.filter((e) => py.functionAt(e) === fn);
    if (sameFn.some((e) => e.start > call.end && closest(e.node, "finally_clause"))) continue;
    const loop = py.loopsAt(call).find((l) => py.functionAt(l) === fn);
    if (loop) {
      const inLoop = sameFn.filter((e) => loop.start <= e.start && e.end <= loop.end);
      const skip = inLoop.length > 0 ? skippedEnd(loop, call, inLoop) : undefined;
      if (skip) {
        ctx.report(call, {
          message:
            `The \`${skip.text}\` on line ${skip.startPosition.row + 1} leaves this iteration before \`mlflow.end_run()\`, ` +
            "so the run stays active and the next `start_run()` fails (or nests under it). Use " +
            "`with mlflow.start_run(...):` for the iteration, or end the run in a `finally:`.",
        });
        continue;
      }
      // Ends before the start close the previous iteration's run (`if mlflow.active_run(): end_run()`).
      const after = inLoop.filter((e) => e.start > call.end);
      // A start under a condition of its own (`if args.track: start_run()`) is ended under the same one.
      const guarded =
        after.length > 0 && after.length === inLoop.length && !guardIn(call.node, loop)
          ? conditionalEnd(loop, after)
          : undefined;
      if (guarded) {
        ctx.report(call, {
          message:
            `${after.length > 1 ? "Every" : "The only"} \`mlflow.end_run()\` in this loop (line ${guarded.line}) runs under a condition, so iterations ` +
            "that skip it leave the run active and the next `start_run()` fails (or nests under it). Use " +
            "`with mlflow.start_run(...):` for the iteration, or end the run in a `finally:`.",
        });
        continue;
      }
      if (inLoop.length > 0) continue;
      if (py.callsIn(loop.body).some((c) => c.method !== undefined && enders.has(c.method))) continue;
      ctx.report(call, { message: boolValue(call.arg("nested")) === true ? IN_LOOP_NESTED : IN_LOOP });
    } else if (ends.length === 0) {
      ctx.report(call, { message: NEVER_ENDED });
    } else {
      const exit = skippingReturn(fn?.body, call, sameFn);
      if (exit)
        ctx.report(call, {
          message:
            `The \`${exit.text.split("\n")[0]}\` on line ${exit.startPosition.row + 1} leaves the function before ` +
            "`mlflow.end_run()`, so on that path the run stays active: MLflow records it as FINISHED only at exit, " +
            "and the next `start_run()` in the process fails. Use `with mlflow.start_run():`, or end the run in a " +
            "`finally:`.",
        });
    }
  }
});
