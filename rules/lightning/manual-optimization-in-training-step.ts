import { localAncestry, localDescendants } from "../../src/engine/python/frameworks.js";
import type { CallSite, FunctionDef } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { lightningModules, usesManualOptimization } from "./_lib.js";

// Receivers of `.step()` that are optimisers, not schedulers or environments.
const OPTIMIZER_RECEIVER =
  /(^|[._])(opt|optim|optimizer|optimiser|optimizers)(\d*|_\w+)?$|optimizers\(\)(\[\d+\])?$/i;

// Hooks Lightning itself calls around the optimiser: overriding them with these calls is the API.
const LIGHTNING_HOOKS = new Set(["backward", "optimizer_step", "optimizer_zero_grad", "manual_backward"]);

function problem(call: CallSite): string | undefined {
  const recv = call.receiver?.text.replace(/\s+/g, "");
  if (!recv) return undefined;
  if (call.method === "backward" && recv !== "self") {
    return `Lightning already runs backward on the loss \`training_step\` returns, so \`${recv}.backward()\` here computes gradients a second time (or fails on the freed graph)`;
  }
  if (call.method === "zero_grad") {
    return `Lightning zeroes gradients itself around each optimiser step; \`${recv}.zero_grad()\` here also wipes gradients that \`accumulate_grad_batches\` is collecting`;
  }
  if (call.method === "step" && (OPTIMIZER_RECEIVER.test(recv) || /scaler$/i.test(recv))) {
    return `Lightning already steps the optimiser after \`training_step\`, so \`${recv}.step()\` here adds a second update per batch, made with the previous batch's gradients`;
  }
  return undefined;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  for (const cls of lightningModules(py)) {
    const step = cls.method("training_step");
    if (!step || usesManualOptimization(py, cls, true)) continue;
    // `self.manual_backward(loss)` with the flag never turned off: manual optimisation was meant,
    // and Lightning stops at `manual_backward` asking for it (unless the module overrides that hook).
    const ancestry = localAncestry(py, cls);
    const forgotFlag = ancestry.some((c) => py.callsIn(c).some((call) => call.method === "manual_backward"));
    if (forgotFlag && ancestry.some((c) => c.method("manual_backward"))) continue;
    // A base whose `training_step` serves subclasses that switch to manual optimisation.
    if (localDescendants(py, cls).some((d) => !d.method("training_step") && usesManualOptimization(py, d)))
      continue;
    const methods = new Map<string, FunctionDef>();
    for (const c of localAncestry(py, cls))
      for (const m of c.methods) if (!methods.has(m.name)) methods.set(m.name, m);
    const report = (call: CallSite, helper?: FunctionDef) => {
      const what = problem(call);
      if (!what) return;
      const where = helper ? ` (in \`${helper.name}\`, which \`training_step\` calls)` : "";
      if (forgotFlag) {
        const recv = call.receiver?.text.replace(/\s+/g, "") ?? "optimizer";
        ctx.report(call, {
          message:
            `\`${recv}.${call.method}()\`${where} drives the optimiser by hand and \`${cls.name}\` calls \`self.manual_backward\`, ` +
            "but `self.automatic_optimization` is never set to `False`: Lightning still optimises automatically, so it " +
            "refuses `manual_backward` (MisconfigurationException) and would otherwise step and zero the gradients a " +
            "second time. Set `self.automatic_optimization = False` in `__init__`.",
        });
        return;
      }
      ctx.report(call, {
        message:
          `${what}${where}. With automatic optimisation, return the loss and let Lightning do backward, step and zero_grad; ` +
          "for custom logic set `self.automatic_optimization = False` and use `self.optimizers()` with `self.manual_backward(loss)`.",
      });
    };
    for (const call of py.callsIn(step.body, { direct: true })) {
      report(call);
      // One level into the module's own helpers: `self._optimize(loss)`.
      if (call.receiver?.text !== "self" || !call.method || LIGHTNING_HOOKS.has(call.method)) continue;
      const helper = methods.get(call.method);
      if (!helper || helper === step) continue;
      for (const inner of py.callsIn(helper.body, { direct: true })) report(inner, helper);
    }
  }
});
