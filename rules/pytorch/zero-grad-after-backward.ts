import { lightningModules } from "../../src/engine/python/frameworks.js";
import type { CallSite, Span } from "../../src/engine/python/model.js";
import { defineCheck, type FixInput } from "../../src/engine/rule.js";
import {
  exclusiveBranches,
  indentOf,
  isBackward,
  modelCallKey,
  objectKey,
  optimizerStepped,
  producers,
  scopeCalls,
  soleStatement,
} from "./_loop.js";

const OPTIMIZER_LIKE = /opt|optim/i;
const LEAVES = new Set(["continue_statement", "break_statement", "return_statement", "raise_statement"]);

export default defineCheck((ctx) => {
  const { py } = ctx;
  const zeros = py.methodCalls("zero_grad");
  if (zeros.length === 0 || !py.calls.some(isBackward)) return;
  const lit = lightningModules(py);
  for (const zero of zeros) {
    const recv = zero.receiver?.text.replace(/\s+/g, "");
    if (!recv || recv === "self") continue;
    const fn = py.functionAt(zero);
    if (fn?.cls && lit.includes(fn.cls)) continue;
    const calls = scopeCalls(py, fn);
    const loopOf = (c: { start: number }) => py.loopsAt(c.start)[0];
    const backward = calls
      .filter((c) => c.end <= zero.start && isBackward(c) && loopOf(c) === loopOf(zero))
      .pop();
    if (!backward || exclusiveBranches(backward.node, zero.node)) continue;
    const steps = calls
      .map((c) => ({ call: c, optimizer: optimizerStepped(py, c) }))
      .filter((s): s is { call: CallSite; optimizer: string } => s.optimizer !== undefined);
    // A step between backward and zero_grad means this zero_grad prepares the next step.
    if (steps.some((s) => s.call.start > backward.end && s.call.end <= zero.start)) continue;
    const isOptimizer = OPTIMIZER_LIKE.test(recv) || steps.some((s) => s.optimizer === recv);
    const zeroKey = objectKey(zero.receiver);
    const step = steps.find((s) => {
      if (s.call.start < zero.end || exclusiveBranches(zero.node, s.call.node)) return false;
      const loop = loopOf(zero);
      if (loop && !(loop.start <= s.call.start && s.call.end <= loop.end)) return false;
      if (isOptimizer) return s.optimizer === recv;
      // `net.zero_grad()`: only when this optimiser updates that network.
      return updates(s.optimizer, zeroKey, s.call);
    });
    // Another backward before the step: this zero_grad clears stale gradients for it.
    if (!step || calls.some((c) => c.start > zero.end && c.end <= step.call.start && isBackward(c))) continue;
    if (leavesBefore(zero, step.call)) continue;
    const fix = swapFix(zero, step.call);
    ctx.report(zero, {
      message:
        `\`${recv}.zero_grad()\` runs after \`backward()\` (line ${backward.line}) and before ` +
        `\`${step.call.callee.text.replace(/\s+/g, "")}(...)\` (line ${step.call.line}), so it wipes the gradients ` +
        "just computed and the step learns nothing from this batch (with the default `set_to_none=True` the " +
        "parameters are skipped altogether). Zero the gradients before the forward pass, or right after `step()`.",
      ...(fix ? { fix } : {}),
    });
  }

  // `if not torch.isfinite(loss): optimizer.zero_grad(); continue`: the bad batch is dropped and
  // the step below is never reached from here.
  function leavesBefore(zero: CallSite, step: CallSite): boolean {
    let stmt = zero.node;
    while (stmt.parent && stmt.parent.type !== "block" && stmt.parent.type !== "module") stmt = stmt.parent;
    for (
      let next = stmt.nextNamedSibling;
      next && next.startIndex < step.start;
      next = next.nextNamedSibling
    ) {
      if (LEAVES.has(next.type)) return true;
    }
    return false;
  }

  function updates(optimizer: string, key: string | undefined, at: Span): boolean {
    if (!key) return false;
    const ctor = py.assignments.find(
      (a) => a.op === "=" && a.targets.length === 1 && a.targets[0] === optimizer && a.value?.type === "call",
    );
    if (ctor?.value) {
      // `self.optimizer = Adam(model.parameters())` in `__init__` updates `self.model` too.
      const tail = key.replace(/^self\./, "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      return new RegExp(`(^|[^\\w.])(self\\.)?${tail}[.)]`).test(ctor.value.text);
    }
    // No construction in sight: judge only when this scope drives a single network.
    if (producers(py, optimizer, at).length > 0) return false;
    const nets = new Set(
      scopeCalls(py, py.functionAt(at))
        .map((c) => modelCallKey(py, c))
        .filter((k) => k !== undefined),
    );
    return nets.size === 1 && nets.has(key);
  }

  function swapFix(zero: CallSite, step: CallSite): FixInput | undefined {
    const a = soleStatement(zero, ctx.lines);
    const b = soleStatement(step, ctx.lines);
    if (!a || !b || a.nextNamedSibling?.id !== b.id || a.endPosition.row + 1 !== b.startPosition.row)
      return undefined;
    return {
      description: "Zero the gradients after the optimiser step",
      edits: [
        {
          at: { start: a.startIndex, end: b.endIndex },
          text: `${b.text}\n${indentOf(a, ctx.lines)}${a.text}`,
        },
      ],
    };
  }
});
