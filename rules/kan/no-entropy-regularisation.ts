import { numberValue } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { kanTrainings } from "./_lib.js";

export default defineCheck((ctx) => {
  for (const { call } of kanTrainings(ctx.py)) {
    const node = call.keywords.get("lamb_entropy");
    if (!node || numberValue(node) !== 0) continue;
    const lamb = numberValue(call.keywords.get("lamb"));
    ctx.report(node, {
      message:
        "`lamb_entropy=0` removes the entropy term from pykan's sparsity regulariser" +
        (lamb !== undefined && lamb > 0
          ? `, leaving only the L1 part of \`lamb=${call.keywords.get("lamb")!.text}\``
          : "") +
        ". Without it the network does not concentrate on a few edges, splines stay spread out and spiky, and " +
        "pruning and symbolic fitting find little to simplify. Keep the default (2.0) or another positive weight, " +
        "with `lamb > 0` to switch regularisation on.",
    });
  }
});
