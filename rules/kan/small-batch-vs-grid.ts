import { numberValue } from "../../src/engine/python/helpers.js";
import type { CallSite } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { gridOf, type KanModel, kanOf, kanTrainings } from "./_lib.js";

export default defineCheck((ctx) => {
  const { py } = ctx;
  for (const { call, model } of kanTrainings(py)) {
    const node = call.keywords.get("batch");
    const batch = numberValue(node);
    if (!node || batch === undefined || batch <= 0) continue;
    const grid = gridAt(model, call);
    if (grid === undefined || batch >= 10 * grid) continue;
    ctx.report(node, {
      message:
        `A batch of ${batch} samples is small for a grid of ${grid} intervals: each step sees only a few points per ` +
        "interval, so some spline pieces are updated from almost no data and the fit becomes uneven across the " +
        `input range. Use at least ${10 * grid} samples per batch, or the full batch (\`batch=-1\`, the default).`,
    });
  }

  /** The grid the model has when `training` runs: the last `refine(n)` before it, else the constructor's. */
  function gridAt(model: KanModel, training: CallSite): number | undefined {
    const refines = py.methodCalls("refine").filter((r) => r.end <= training.start && kanOf(py, r) === model);
    const last = refines.at(-1);
    if (!last) return gridOf(model.ctor);
    // `model.refine(g)` in a loop over grids: the size is not known statically.
    return numberValue(last.arg("new_grid", 0));
  }
});
