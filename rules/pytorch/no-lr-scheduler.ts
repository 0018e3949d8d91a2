import { lightningModules } from "../../src/engine/python/frameworks.js";
import { isTestPath } from "../../src/engine/python/helpers.js";
import type { CallSite } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { isBackward, optimizerStepped } from "./_loop.js";

// Optimisers with a learning rate the user sets; line-search, parameter-free and
// schedule-free optimisers manage their step size themselves.
const FIXED_LR = [
  "torch.optim.SGD",
  "torch.optim.Adam",
  "torch.optim.AdamW",
  "torch.optim.RMSprop",
  "torch.optim.Adagrad",
  "torch.optim.NAdam",
  "torch.optim.RAdam",
  "torch.optim.Adamax",
];
const SCHEDULERS = [
  "torch.optim.lr_scheduler.*",
  "transformers.get_*",
  "transformers.optimization.get_*",
  "timm.scheduler.**",
  "diffusers.optimization.get_*",
];
// Hand-rolled schedules: `adjust_learning_rate(optimizer, epoch)`, `lr_lambda`, `set_lr(...)`, `warmup(...)`.
const SCHEDULE_CALL = /sched|adjust_(learning_rate|lr)|set_lr|update_lr|lr_lambda|warmup|decay_lr|cosine_lr/i;

const DISCRIMINATOR = /\b(net_?D|D_?net|model_?D|disc\w*|discriminator\w*|D)\s*\.\s*parameters\b/i;

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  const optimizers = py.callsTo(...FIXED_LR);
  if (optimizers.length === 0 || lightningModules(py).length > 0) return;
  // A training loop: a backward inside a loop or a function (a step helper the loop calls). A single
  // module-level step is a demo or a smoke test, not a run with a learning-rate history.
  const trains = (c: CallSite) => py.loopsAt(c).length > 0 || py.functionAt(c) !== undefined;
  if (!py.calls.some((c) => isBackward(c) && trains(c))) return;
  if (!py.calls.some((c) => optimizerStepped(py, c))) return;
  // GANs train generator and discriminator at a constant rate by convention (DCGAN, WGAN-GP).
  if (optimizers.length > 1 && optimizers.some((o) => DISCRIMINATOR.test(o.args[0]?.text ?? ""))) return;
  if (py.calls.some((c) => c.is(...SCHEDULERS) || SCHEDULE_CALL.test(c.method ?? c.callee.text))) return;
  // `param_group["lr"] = ...`, `self.lr_scheduler = ...`, `for g in opt.param_groups: g["lr"] *= 0.1`.
  if (py.assignments.some((a) => a.targets.some((t) => /\[\s*["']lr["']\s*\]$|sched/i.test(t)))) return;
  const opt = optimizers[0];
  ctx.report(opt, {
    message:
      "This optimiser's learning rate stays fixed for the whole run: the file has no scheduler, warm-up or " +
      "manual `param_group['lr']` update. A schedule (warm-up then cosine or linear decay, `OneCycleLR`, or " +
      "`ReduceLROnPlateau` on the validation loss) usually trains faster and ends at a lower loss; add one, " +
      "or note why a constant rate is intended.",
  });
});
