import { numberValue } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { kanTrainings } from "./_lib.js";

export default defineCheck((ctx) => {
  const trainings = kanTrainings(ctx.py);
  // Several literal entropy weights in one file: zero is one point of a sweep.
  const weights = new Set(trainings.map(({ call }) => numberValue(call.keywords.get("lamb_entropy"))));
  weights.delete(undefined);
  if (weights.size > 1) return;
  for (const { call } of trainings) {
    const node = call.keywords.get("lamb_entropy");
    if (!node || numberValue(node) !== 0) continue;
    // The entropy term is weighted by `lamb` (default 0): with regularisation off, zeroing it changes nothing.
    const lambNode = call.keywords.get("lamb");
    if (!lambNode || numberValue(lambNode) === 0) continue;
    ctx.report(node, {
      message:
        `\`lamb_entropy=0\` removes the entropy term from pykan's sparsity regulariser, leaving only the L1 part of ` +
        `\`lamb=${lambNode.text}\`. Without it the network does not concentrate on a few edges, splines stay spread ` +
        "out and spiky, and pruning and symbolic fitting find little to simplify. Keep the default (2.0) or another " +
        "positive weight.",
    });
  }
});
