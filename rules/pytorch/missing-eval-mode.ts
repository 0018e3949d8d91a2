import { defineCheck } from "../../src/engine/rule.js";
import {
  fileTrains,
  holdsAtCaller,
  inferencePasses,
  loadedInEval,
  modeAt,
  modeFreeModel,
  modeSet,
  objectKey,
} from "./_loop.js";

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (!py.calls.some((c) => c.method !== undefined)) return;
  const passes = inferencePasses(py, ctx.path);
  if (passes.length === 0) return;
  // An inference-only module that switches to eval anywhere (typically right after loading) and
  // never back to train keeps its models in eval mode.
  const switches = py.calls.filter((c) => modeSet(c) !== undefined);
  const inferenceOnly =
    !fileTrains(py) &&
    switches.some((c) => modeSet(c) === "eval") &&
    !switches.some((c) => modeSet(c) === "train");
  for (const pass of passes) {
    let culprit: { key: string; trainLine?: number } | undefined;
    for (const f of pass.forwards) {
      const mode = modeAt(py, f.call, f.key);
      if (mode === "eval") continue;
      if (mode === "train") {
        const last = switches.filter((c) => c.end <= f.call.start && objectKey(c.receiver) === f.key).pop();
        // `.train()` inside the pass itself is deliberate (MC dropout, batch-norm adaptation).
        if (last && last.start >= pass.at.start && last.end <= pass.at.end) continue;
        culprit = { key: f.key, trainLine: last?.line };
        break;
      }
      const scope = pass.fn ?? py.functionAt(f.call);
      if (inferenceOnly || loadedInEval(py, f.key, f.call)) continue;
      if (scope && holdsAtCaller(py, scope, (site) => modeAt(py, site, undefined) === "eval")) continue;
      culprit ??= { key: f.key };
    }
    // Without dropout or batch norm, eval mode changes nothing.
    if (!culprit || modeFreeModel(py, culprit.key, pass.forwards[0].call)) continue;
    const where = pass.kind === "function" ? `\`${pass.fn!.name}\`` : "This loop over held-out data";
    const state = culprit.trainLine
      ? `still in training mode (the last switch, line ${culprit.trainLine}, is \`.train()\`)`
      : "without `.eval()` first (neither here nor in a caller in this file)";
    ctx.report(
      { line: pass.at.line },
      {
        message:
          `${where} runs \`${culprit.key}\` ${state}. In training mode dropout stays active and batch norm ` +
          "normalises with the batch's statistics and updates its running averages, so the scores are noisy " +
          `and the model changes while being measured. Call \`${culprit.key}.eval()\` before the pass, and ` +
          `\`${culprit.key}.train()\` again before training resumes.`,
      },
    );
  }
});
