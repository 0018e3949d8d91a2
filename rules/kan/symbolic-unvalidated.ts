import { defineCheck } from "../../src/engine/rule.js";
import { kanOf } from "./_lib.js";

// Any use of held-out data after the formulas are extracted counts as checking them: the test
// split itself, a test loss read back (`results["test_loss"]` from a later `fit`), `evaluate(`.
const HELD_OUT =
  /test_input|test_label|\btest_loss\b|\b[Xx]_?test\b|\by_?test\b|\bholdout\b|\bval(id(ation)?)?_(input|label|data|x|y)\b|\bX_val\b|\bevaluate\s*\(/;

export default defineCheck((ctx) => {
  const { py } = ctx;
  // The method names are pykan's own: a KAN built elsewhere (a parameter, `self.model` set in
  // another file) counts too. A module's function of that name (`sympy.x(...)`) does not.
  const extractions = py
    .methodCalls("symbolic_formula", "auto_symbolic")
    .filter((c) => kanOf(py, c) || (c.receiver && !c.imported));
  const first = extractions.find((c) => ctx.isAdded(c.line));
  if (!first) return;
  // A later `fit` is not a check: it tunes the symbolic model on the same dataset, and its test
  // loss only scrolls past in the progress bar unless the code reads it back.
  if (HELD_OUT.test(ctx.text.slice(extractions[0].end))) return;
  ctx.report(first, {
    message:
      "The symbolic formula is extracted but never checked on held-out data. Snapping edges to symbolic functions " +
      "can fit the training range and still be wrong elsewhere; evaluate the symbolic model (or the formula) on the " +
      'test split, e.g. `model(dataset["test_input"])` against `dataset["test_label"]`, before reporting it.',
  });
});
