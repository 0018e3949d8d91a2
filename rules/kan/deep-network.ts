import { defineCheck } from "../../src/engine/rule.js";
import { kanModels, widthOf } from "./_lib.js";

const MAX_LAYERS = 4;

export default defineCheck((ctx) => {
  for (const { ctor } of kanModels(ctx.py)) {
    const width = widthOf(ctor, ctx.py);
    if (!width) continue;
    const layers = width.sizes.length - 1;
    if (layers <= MAX_LAYERS) continue;
    ctx.report(width.node, {
      message:
        `This KAN has ${layers} layers of learnable edges. Composing that many splines makes the network about as ` +
        "opaque as an MLP, and its symbolic formulas nest too deeply to read, which removes the main reason to use " +
        "a KAN; it also trains less stably. Try 2 to 3 layers first, and justify more with a comparison.",
    });
  }
});
