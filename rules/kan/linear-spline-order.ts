import { numberValue } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { kanModels } from "./_lib.js";

export default defineCheck((ctx) => {
  for (const { ctor } of kanModels(ctx.py)) {
    const k = ctor.arg("k", 2);
    if (!k || numberValue(k) !== 1) continue;
    ctx.report(k, {
      message:
        "`k=1` makes every KAN edge a piecewise-linear spline: its derivative jumps at each grid point, so fits of " +
        "smooth functions stay jagged, extrapolate poorly and match symbolic candidates badly. Use cubic splines " +
        "(`k=3`, pykan's default) unless the target is known to have kinks.",
      fix: { description: "Use cubic splines (pykan's default)", edits: [{ at: k, text: "3" }] },
    });
  }
});
