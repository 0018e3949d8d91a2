import { defineCheck } from "../../src/engine/rule.js";
import { kanOf, kanTrainings } from "./_lib.js";

// Any use of held-out data after the formulas are extracted counts as checking them.
const HELD_OUT =
  /test_input|test_label|\b[Xx]_?test\b|\by_?test\b|\bholdout\b|\bval(id(ation)?)?_(input|label|data|x|y)\b|\bX_val\b|\bevaluate\s*\(/;

export default defineCheck((ctx) => {
  const { py } = ctx;
  const extractions = py.methodCalls("symbolic_formula", "auto_symbolic").filter((c) => kanOf(py, c));
  const first = extractions.find((c) => ctx.isAdded(c.line));
  if (!first) return;
  const start = extractions[0].end;
  if (HELD_OUT.test(ctx.text.slice(start))) return;
  // pykan's fit reports the test loss on dataset["test_input"] as it trains: refitting the
  // symbolic model on the dataset shows how the formula does on held-out data.
  if (kanTrainings(py).some((t) => t.call.start > start)) return;
  ctx.report(first, {
    message:
      "The symbolic formula is extracted but never checked on held-out data. Snapping edges to symbolic functions " +
      "can fit the training range and still be wrong elsewhere; evaluate the symbolic model (or the formula) on the " +
      'test split, e.g. `model(dataset["test_input"])` against `dataset["test_label"]`, before reporting it.',
  });
});
