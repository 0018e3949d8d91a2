import { lightningModules } from "../../src/engine/python/frameworks.js";
import type { CallSite } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import {
  gradOffAt,
  isBackward,
  localCallee,
  modeFreeModel,
  modelCallKey,
  modeSet,
  objectKey,
  optimizerStepped,
  reachableCalls,
  rebind,
} from "./_loop.js";

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (!py.calls.some((c) => modeSet(c) === "eval") || !py.calls.some(isBackward)) return;
  const lit = lightningModules(py);
  const reported = new Set<CallSite>();
  for (const loop of py.loops) {
    const fn = py.functionAt(loop);
    if (fn?.cls && lit.includes(fn.cls)) continue;
    const reached = reachableCalls(py, loop.body);
    if (!reached.some((r) => isBackward(r.call)) || !reached.some((r) => optimizerStepped(py, r.call)))
      continue;
    if (reached.some((r) => modeSet(r.call) === "train")) continue;
    // Training code outside this file (`engine.train_one_epoch(model, ...)`) may switch the mode itself.
    if (
      reached.some((r) => /train/i.test(r.call.method ?? "") && !modeSet(r.call) && !localCallee(py, r.call))
    )
      continue;
    const evals = reached.filter((r) => modeSet(r.call) === "eval" && r.receiverKey && !reported.has(r.call));
    if (evals.length === 0) continue;
    // Networks this loop trains: forwards run with gradients on (a frozen teacher under no_grad is not one).
    const wanted = new Set(evals.map((r) => r.receiverKey!));
    const trained = new Set<string>();
    for (const r of reached) {
      const callee = objectKey(r.call.callee);
      if (!callee || !wanted.has(rebind(callee, r.binds)) || gradOffAt(py, r.call)) continue;
      const key = modelCallKey(py, r.call);
      if (key) trained.add(rebind(key, r.binds));
    }
    for (const r of evals) {
      if (!trained.has(r.receiverKey!) || modeFreeModel(py, r.receiverKey!, r.call)) continue;
      if (endsLoop(r.via, loop)) continue;
      reported.add(r.call);
      const via = r.via !== r.call ? ` (through \`${r.via.callee.text}(...)\` on line ${r.via.line})` : "";
      ctx.report(r.call, {
        message:
          `\`${r.receiverKey}\` is switched to eval mode here${via} inside the loop on line ${loop.line}, which ` +
          "trains it again on the next iteration, and nothing in the loop calls `.train()`: from then on it " +
          "trains with dropout off and batch norm frozen to its running statistics. Call " +
          `\`${r.receiverKey}.train()\` at the start of each training pass (or at the end of the evaluation).`,
      });
    }
  }

  // An evaluation followed by `break`/`return` in its branch, or run only on the last epoch, is the
  // last thing the loop does.
  function endsLoop(site: CallSite, loop: { start: number; end: number }): boolean {
    return py.ifs.some(
      (i) =>
        i.start > loop.start &&
        i.end <= loop.end &&
        i.start <= site.start &&
        site.end <= i.end &&
        (/\b(break|return)\b/.test(i.node.text.slice(site.end - i.start)) ||
          /==\s*[\w.]+\s*-\s*1\b|\b(last|final)/i.test(i.condition.text)),
    );
  }
});
