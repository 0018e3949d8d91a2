import { boolValue } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";

const SPLIT = "sklearn.model_selection.train_test_split";
// Helpers that seed NumPy's global generator among others (Lightning, Transformers, Accelerate, Keras, and
// the usual project `set_seed`). `torch.manual_seed`, `random.seed` and `tf.random.set_seed` do not.
const GLOBAL_SEEDERS =
  /(^|\.)(seed_everything|set_seed|set_random_seed|seed_all|set_seeds|set_all_seeds|fix_seed|setup_seed)$/;

export default defineCheck((ctx) => {
  const { py } = ctx;
  // With a global NumPy seed, `random_state=None` draws from the seeded singleton: reproducible.
  if (py.callsTo("numpy.random.seed").length > 0) return;
  if (py.calls.some((c) => GLOBAL_SEEDERS.test(c.name ?? "") && !/^(tensorflow|torch)\./.test(c.name ?? "")))
    return;
  for (const call of py.callsTo(SPLIT)) {
    // `**split_kwargs` may carry the seed; `*arrays` cannot (every option is keyword-only).
    if (call.node.childForFieldName("arguments")?.namedChildren.some((a) => a?.type === "dictionary_splat"))
      continue;
    const state = call.keywords.get("random_state");
    if (state && state.text !== "None") continue;
    if (boolValue(call.keywords.get("shuffle")) === false) continue;
    ctx.report(call, {
      message: state
        ? "`random_state=None` is the same as no seed: every run draws a new random split, so scores from two " +
          "runs (or two models) are measured on different test rows and cannot be compared or reproduced. Pass a " +
          "fixed seed, e.g. `random_state=SEED`, ideally one value shared through your config."
        : undefined,
    });
  }
});
