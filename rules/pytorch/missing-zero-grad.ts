import { lightningModules } from "../../src/engine/python/frameworks.js";
import type { CallSite, Loop } from "../../src/engine/python/model.js";
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
  // The one exception: every reset is a single call outside the training loops, either before them
  // and outside any loop (`optimizer.zero_grad()` once before `for epoch ...`), which clears the
  // gradients only once, or in a loop around the batch loop (`for epoch: opt.zero_grad(); for x in
  // loader: ...`), which clears them once per epoch while the optimiser steps every batch.
  const zeroCalls = py.calls.filter((c) => c.method === "zero_grad" || isZeroing(c));
  const training = innermostTrainingLoops(py);
  const encloses = (outer: Loop, inner: Loop) => outer.start <= inner.start && inner.end <= outer.end;
  const aroundOnly = (c: CallSite, t: TrainingLoop) => {
    const loops = py.loopsAt(c);
    return (
      loops.length > 0 &&
      py.functionAt(c) === py.functionAt(t.loop) &&
      !(t.loop.start <= c.start && c.end <= t.loop.end) &&
      loops.every((l) => l !== t.loop && encloses(l, t.loop))
    );
  };
  const onceBefore =
    zeroCalls.length > 0 &&
    (ctx.text.match(/zero_grad/g) ?? []).length === zeroCalls.length &&
    zeroCalls.every((c) => py.loopsAt(c).length === 0 || training.some((t) => aroundOnly(c, t)));
  if (!onceBefore && (/zero_grad/.test(ctx.text) || py.calls.some(isZeroing))) return;
  if (zeroingAssignments(py, py.tree.rootNode).length > 0) return;
  const lit = lightningModules(py);
  const found: { steps: TrainingLoop["steps"]; where: string; around?: Loop }[] = [];
  for (const t of training) {
    const { loop, steps } = t;
    const fn = py.functionAt(loop);
    if (fn?.cls && lit.includes(fn.cls)) continue;
    let around: Loop | undefined;
    if (onceBefore) {
      const outer = py.loopsAt(loop).pop() ?? loop;
      const before = (c: CallSite) =>
        py.functionAt(c) === fn && (aroundOnly(c, t) || (py.loopsAt(c).length === 0 && c.end <= outer.start));
      if (!zeroCalls.every(before)) continue;
      around = zeroCalls.map((c) => py.loopsAt(c)[0]).find((l) => l !== undefined);
    }
    // An optimiser built inside the loop starts from fresh gradients each time round.
    if (directCalls(py, loop.body).some((c) => isOptimizerClass(c.name))) continue;
    found.push({ steps, where: "This loop", around });
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
  for (const { steps, where, around } of found) {
    const step = steps[0];
    const zero = around ? zeroCalls.find((c) => py.loopsAt(c)[0] === around) : zeroCalls[0];
    ctx.report(step.call, {
      message:
        `${where} calls \`backward()\` and steps \`${step.optimizer}\` but ` +
        (around
          ? `zeroes the gradients only on line ${zero?.line}, once per pass of the enclosing loop on line ${around.line} rather than once per step`
          : onceBefore
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
