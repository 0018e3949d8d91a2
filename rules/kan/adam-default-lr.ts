import { constructorOf } from "../../src/engine/python/flow.js";
import { literal, numberValue } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { kanModels, kanTrainings } from "./_lib.js";

const ADAMS = ["torch.optim.Adam", "torch.optim.AdamW"];
const SCHEDULERS = ["torch.optim.lr_scheduler.*", "transformers.get_*schedule*"];
// pykan's fit() defaults to lr=1.0, tuned for its LBFGS optimiser.
const FIT_DEFAULT_LR = 1.0;

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (kanModels(py).length === 0 || py.callsTo(...SCHEDULERS).length > 0) return;
  // model.fit(dataset, opt="Adam", lr=...): pykan has no scheduler option.
  for (const { call } of kanTrainings(py)) {
    const opt = literal(call.keywords.get("opt"));
    if (opt?.kind !== "str" || !/^adamw?$/i.test(opt.value)) continue;
    const lrNode = call.keywords.get("lr");
    const lr = lrNode ? numberValue(lrNode) : FIT_DEFAULT_LR;
    if (lr === undefined || lr < 1e-3) continue;
    ctx.report(lrNode ?? call, {
      message: lrNode
        ? `Adam at lr=${lrNode.text} is at the top of the range KANs train stably in, and \`fit\` has no scheduler: spline ` +
          "coefficients tend to oscillate. Use a smaller rate (1e-4 to 1e-3) with decay, or pykan's default LBFGS."
        : 'With `opt="Adam"` and no `lr=`, pykan\'s `fit` uses its default lr=1.0, which is meant for LBFGS; for Adam ' +
          "it is far too high and the spline coefficients diverge. Pass `lr=1e-3` or lower (or keep LBFGS).",
    });
  }
  // A manual loop: torch.optim.Adam over a KAN's parameters with no scheduler in the file.
  for (const call of py.callsTo(...ADAMS)) {
    const params = call.arg("params", 0);
    const recv =
      params?.type === "call" ? params.childForFieldName("function")?.childForFieldName("object") : undefined;
    if (
      !recv ||
      !kanModels(py).some((m) => m.names.has(recv.text) || constructorOf(py, recv, call) === m.ctor.name)
    )
      continue;
    const lrNode = call.arg("lr", 1);
    const lr = lrNode ? numberValue(lrNode) : 1e-3;
    if (lr === undefined || lr < 1e-3) continue;
    ctx.report(lrNode ?? call, {
      message:
        `Adam at lr=${lrNode?.text ?? "1e-3 (its default)"} with no learning-rate scheduler is on the unstable side ` +
        "for KANs: spline coefficients oscillate instead of settling. Lower the rate (1e-4 to 1e-3) and add a " +
        "scheduler such as `torch.optim.lr_scheduler.ExponentialLR` or `CosineAnnealingLR`.",
    });
  }
});
