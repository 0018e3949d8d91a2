import type { Node } from "web-tree-sitter";
import { constructorOf } from "../../src/engine/python/flow.js";
import { literal, numberValue } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { kanModels, kanTrainings } from "./_lib.js";

const ADAMS = ["torch.optim.Adam", "torch.optim.AdamW"];
const SCHEDULERS = ["torch.optim.lr_scheduler.*", "transformers.get_*schedule*"];
// pykan's fit() defaults to lr=1.0, tuned for its LBFGS optimiser.
const FIT_DEFAULT_LR = 1.0;
// A hand-written schedule: `for g in optimizer.param_groups: g["lr"] *= 0.5`.
const MANUAL_DECAY = /\[\s*["']lr["']\s*\]\s*[*/+-]?=(?!=)/;

export default defineCheck((ctx) => {
  const { py } = ctx;
  const wrapsKan = (recv: Node, at: CallSite) => wrapsKanIn(py, recv, at);
  if (kanModels(py).length === 0 || py.callsTo(...SCHEDULERS).length > 0 || MANUAL_DECAY.test(ctx.text))
    return;
  // model.fit(dataset, opt="Adam", lr=...): pykan has no scheduler option.
  const adamFits = kanTrainings(py).filter(({ call }) => {
    const opt = literal(call.keywords.get("opt"));
    return opt?.kind === "str" && /^adamw?$/i.test(opt.value);
  });
  const rates = adamFits.map(({ call }) => {
    const lrNode = call.keywords.get("lr");
    return lrNode ? numberValue(lrNode) : FIT_DEFAULT_LR;
  });
  for (const [i, { call }] of adamFits.entries()) {
    const lrNode = call.keywords.get("lr");
    const lr = rates[i];
    if (lr === undefined || lr < 1e-3) continue;
    // Later stages at a computed or lower rate: the rate is decayed by hand between fits.
    if (rates.slice(i + 1).some((r) => r === undefined || r < lr)) continue;
    ctx.report(lrNode ?? call, {
      message: lrNode
        ? `Adam at lr=${lrNode.text} ${where(lr)} for KANs, and pykan's \`fit\` has no scheduler to decay it, so ` +
          "spline coefficients tend to oscillate instead of settling. Train at a lower rate (around 1e-4), decay it " +
          "across successive `fit` calls, or use pykan's default LBFGS."
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
      !(
        kanModels(py).some((m) => m.names.has(recv.text) || constructorOf(py, recv, call) === m.ctor.name) ||
        wrapsKan(recv, call)
      )
    )
      continue;
    const lrNode = call.arg("lr", 1);
    const lr = lrNode ? numberValue(lrNode) : 1e-3;
    if (lr === undefined || lr < 1e-3) continue;
    ctx.report(lrNode ?? call, {
      message:
        `Adam at lr=${lrNode?.text ?? "1e-3 (its default)"} ${where(lr)} for KANs, and nothing decays it: spline ` +
        "coefficients tend to oscillate instead of settling. Add a scheduler such as " +
        "`torch.optim.lr_scheduler.ExponentialLR` or `CosineAnnealingLR`, or train at a lower rate (around 1e-4).",
    });
  }
});

/**
 * A module of the file's own that holds a KAN as an attribute (`self.kan = KAN(...)`), reached as
 * `self` inside it (`configure_optimizers`) or as an instance built from it (`net = KANRegressor()`).
 */
function wrapsKanIn(py: PythonModel, recv: Node, at: CallSite): boolean {
  const holders = new Set(
    kanModels(py)
      .filter((m) => [...m.names].some((n) => n.startsWith("self.")))
      .map((m) => py.classAt(m.ctor.node))
      .filter((c) => c !== undefined),
  );
  if (holders.size === 0) return false;
  if (recv.text === "self") {
    const cls = py.classAt(at.node);
    return cls !== undefined && holders.has(cls);
  }
  const made = constructorOf(py, recv, at);
  return made !== undefined && [...holders].some((c) => c.name === made || made.endsWith(`.${c.name}`));
}

/** Where a learning rate sits relative to the range KANs usually train stably in with Adam. */
function where(lr: number): string {
  return lr > 1e-3
    ? "is above the range (about 1e-4 to 1e-3) that is usually stable"
    : "is at the top of the range usually stable";
}
