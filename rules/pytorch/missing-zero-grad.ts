import { lightningModules } from "../../src/engine/python/frameworks.js";
import type { CallSite } from "../../src/engine/python/model.js";
import { defineCheck, type FixInput } from "../../src/engine/rule.js";
import {
  callersOf,
  directCalls,
  indentOf,
  innermostTrainingLoops,
  isOptimizerClass,
  isZeroing,
  soleStatement,
  stepFunctions,
  type TrainingLoop,
  zeroingAssignments,
} from "./_loop.js";

export default defineCheck((ctx) => {
  const { py } = ctx;
  // Any reset in the file, even one only mentioned (`closure(opt.zero_grad)`, SAM's
  // `first_step(zero_grad=True)`) or done by hand (`p.grad = None`), means the author handles it.
  // The one exception: every reset is a single call before the training loops, outside any loop
  // (`optimizer.zero_grad()` once before `for epoch ...`), which clears the gradients only once.
  const zeroCalls = py.calls.filter((c) => c.method === "zero_grad" || isZeroing(c));
  const onceBefore =
    zeroCalls.length > 0 &&
    (ctx.text.match(/zero_grad/g) ?? []).length === zeroCalls.length &&
    zeroCalls.every((c) => py.loopsAt(c).length === 0);
  if (!onceBefore && (/zero_grad/.test(ctx.text) || py.calls.some(isZeroing))) return;
  if (zeroingAssignments(py, py.tree.rootNode).length > 0) return;
  const lit = lightningModules(py);
  const found: { steps: TrainingLoop["steps"]; where: string }[] = [];
  for (const { loop, steps } of innermostTrainingLoops(py)) {
    const fn = py.functionAt(loop);
    if (fn?.cls && lit.includes(fn.cls)) continue;
    if (onceBefore) {
      const outer = py.loopsAt(loop).pop() ?? loop;
      const before = (c: CallSite) => py.functionAt(c) === fn && c.end <= outer.start;
      if (!zeroCalls.every(before)) continue;
    }
    // An optimiser built inside the loop starts from fresh gradients each time round.
    if (directCalls(py, loop.body).some((c) => isOptimizerClass(c.name))) continue;
    found.push({ steps, where: "This loop" });
  }
  // `train_step(model, batch, opt)` doing backward and step, called once per batch from a loop.
  for (const { fn, steps } of stepFunctions(py)) {
    if (onceBefore || (fn.cls && lit.includes(fn.cls))) continue;
    if (callersOf(py, fn).some((site) => py.loopsAt(site).length > 0))
      found.push({ steps, where: `\`${fn.name}\`, called in a loop,` });
  }
  // Lightning with `self.automatic_optimization = False`: `manual_backward` and `opt.step()` are the
  // user's, and so is the reset Lightning no longer does.
  for (const cls of onceBefore ? [] : lit) {
    if (!/automatic_optimization\s*=\s*False/.test(cls.node.text)) continue;
    for (const fn of py.functions.filter((f) => f.cls === cls)) {
      const calls = directCalls(py, fn.body);
      const backward = calls.find((c) => c.method === "manual_backward");
      if (!backward) continue;
      const step = calls.find(
        (c) =>
          c.start > backward.end &&
          c.method === "step" &&
          c.args.length === 0 &&
          /opt/i.test(c.receiver?.text ?? ""),
      );
      if (step)
        found.push({
          steps: [{ call: step, optimizer: step.receiver!.text }],
          where: `\`${fn.name}\` (manual optimisation)`,
        });
    }
  }
  for (const { steps, where } of found) {
    const step = steps[0];
    ctx.report(step.call, {
      message:
        `${where} calls \`backward()\` and steps \`${step.optimizer}\` but ` +
        (onceBefore
          ? `zeroes the gradients only once, on line ${zeroCalls[0].line} before the loop`
          : "never zeroes the gradients") +
        ", so every " +
        "backward adds onto the gradients of all previous batches and each step uses their running sum. " +
        `Call \`${step.optimizer}.zero_grad()\` once per step, before the forward pass or right after \`step()\` ` +
        "(with gradient accumulation, after the step that ends each accumulation window).",
      ...fixFor(step.call, step.optimizer),
    });
  }

  function fixFor(call: CallSite, optimizer: string): { fix?: FixInput } {
    const stmt = soleStatement(call, ctx.lines);
    if (!stmt) return {};
    // `scaler.step(opt)` is followed by `scaler.update()`: reset after both, in one suggestion.
    const next = stmt.nextNamedSibling;
    const last =
      /scaler/i.test(call.receiver?.text ?? "") && /\.update\(\s*\)$/.test(next?.text ?? "") ? next! : stmt;
    const indent = indentOf(stmt, ctx.lines);
    return {
      fix: {
        description: `Zero the gradients after each step of ${optimizer}`,
        edits: [
          {
            at: { start: stmt.startIndex, end: last.endIndex },
            text: `${ctx.text.slice(stmt.startIndex, last.endIndex)}\n${indent}${optimizer}.zero_grad()`,
          },
        ],
      },
    };
  }
});
