import { numberValue } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { gridOf, kanTrainings } from "./_lib.js";

export default defineCheck((ctx) => {
  for (const { call, model } of kanTrainings(ctx.py)) {
    const node = call.keywords.get("batch");
    const batch = numberValue(node);
    if (!node || batch === undefined || batch <= 0) continue;
    const grid = gridOf(model.ctor);
    if (grid === undefined || batch >= 10 * grid) continue;
    ctx.report(node, {
      message:
        `A batch of ${batch} samples is small for a grid of ${grid} intervals: each step sees only a few points per ` +
        "interval, so some spline pieces are updated from almost no data and the fit becomes uneven across the " +
        `input range. Use at least ${10 * grid} samples per batch, or the full batch (\`batch=-1\`, the default).`,
    });
  }
});
