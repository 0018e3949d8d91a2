import { boolValue } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";

const SPLIT = "sklearn.model_selection.train_test_split";

export default defineCheck((ctx) => {
  const { py } = ctx;
  // With a global NumPy seed, `random_state=None` draws from the seeded singleton: reproducible.
  if (py.callsTo("numpy.random.seed").length > 0) return;
  for (const call of py.callsTo(SPLIT)) {
    if (call.hasSplat || call.keywords.has("random_state")) continue;
    if (boolValue(call.keywords.get("shuffle")) === false) continue;
    ctx.report(call);
  }
});
