import { defineCheck } from "../../src/engine/rule.js";
import { lightningModules, usesManualOptimization } from "./_lib.js";

// Receivers of `.step()` that are optimisers, not schedulers or environments.
const OPTIMIZER_RECEIVER =
  /(^|[._])(opt|optim|optimizer|optimiser|optimizers)(\d*|_\w+)?$|optimizers\(\)(\[\d+\])?$/i;

export default defineCheck((ctx) => {
  const { py } = ctx;
  for (const cls of lightningModules(py)) {
    const step = cls.method("training_step");
    if (!step || usesManualOptimization(py, cls)) continue;
    for (const call of py.callsIn(step.body, { direct: true })) {
      const recv = call.receiver?.text.replace(/\s+/g, "");
      if (!recv) continue;
      let what: string | undefined;
      if (call.method === "backward" && recv !== "self") {
        what = `Lightning already runs backward on the loss \`training_step\` returns, so \`${recv}.backward()\` here computes gradients a second time (or fails on the freed graph)`;
      } else if (call.method === "zero_grad") {
        what = `Lightning zeroes gradients itself around each optimiser step; \`${recv}.zero_grad()\` here also wipes gradients that \`accumulate_grad_batches\` is collecting`;
      } else if (call.method === "step" && (OPTIMIZER_RECEIVER.test(recv) || /scaler$/i.test(recv))) {
        what = `Lightning already steps the optimiser after \`training_step\`, so \`${recv}.step()\` here adds a second update per batch, made with the previous batch's gradients`;
      }
      if (!what) continue;
      ctx.report(call, {
        message:
          `${what}. With automatic optimisation, return the loss and let Lightning do backward, step and zero_grad; ` +
          "for custom logic set `self.automatic_optimization = False` and use `self.optimizers()` with `self.manual_backward(loss)`.",
      });
    }
  }
});
