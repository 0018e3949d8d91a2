import type { Node } from "web-tree-sitter";
import { constructorOf } from "../../src/engine/python/flow.js";
import { numberValue } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { kanModels, kanOf, kanTrainings } from "./_lib.js";

const REFINES = new Set([
  "refine",
  "update_grid_from_samples",
  "update_grid",
  "initialize_from_another_model",
  "initialize_grid_from_another_model",
]);
// Grid extension is a function-fitting technique: classifiers trained with these losses stay coarse.
const CLASSIFICATION_LOSS =
  /^torch\.nn\.(CrossEntropyLoss|BCELoss|BCEWithLogitsLoss|NLLLoss|functional\.(cross_entropy|binary_cross_entropy\w*|nll_loss))$/;
// Once edges are replaced by symbolic functions, the result is the formula, not the splines.
const SYMBOLIC = new Set(["auto_symbolic", "fix_symbolic"]);

export default defineCheck((ctx) => {
  const { py } = ctx;
  const trainings = kanTrainings(py);
  if (trainings.length === 0) return;
  const refines = py.calls.filter((c) => c.method !== undefined && REFINES.has(c.method));
  // `refine` returns a new model and leaves the receiver as it was: a bare `model.refine(10)` refines nothing.
  const discarded = refines.filter((c) => c.method === "refine" && kanOf(py, c) && isDiscarded(c));
  if (refines.some((c) => !discarded.includes(c))) return;
  if (discarded.length > 0) {
    const call = discarded.find((c) => ctx.isAdded(c.line));
    if (call)
      ctx.report(call, {
        message:
          "`refine` returns a new, refined KAN and leaves this one unchanged, so the result is thrown away here and " +
          "training continues on the old grid. Assign it: `model = model.refine(...)`.",
        fix: {
          description: "Keep the refined model",
          edits: [{ at: call.node, text: `${call.receiver!.text} = ${call.node.text}` }],
        },
      });
    return;
  }
  // A loop that rebuilds the KAN on a growing grid (`for g in grids: KAN(grid=g)`) refines too.
  if (trainings.some(({ model }) => py.loopsAt(model.ctor).length > 0 && model.ctor.keywords.has("grid")))
    return;
  // Several KANs on different literal grids: the grid size is being compared.
  const grids = new Set(kanModels(py).map((m) => numberValue(m.ctor.arg("grid", 1))));
  grids.delete(undefined);
  if (grids.size > 1) return;
  if (trainings.some(({ call }) => isClassification(py, call))) return;
  if (py.calls.some((c) => c.method !== undefined && SYMBOLIC.has(c.method) && kanOf(py, c))) return;
  const first = trainings.find((t) => ctx.isAdded(t.call.line));
  if (!first) return;
  ctx.report(first.call, {
    message:
      "This KAN is trained only on its initial grid. `fit` moves the grid points to follow the data but never adds " +
      "intervals; pykan's recipe is to train on a coarse grid, then `model = model.refine(finer_grid)` and train " +
      "again, keeping the step where the test loss is lowest. That is usually more accurate and more stable than " +
      "starting fine.",
  });
});

function isDiscarded(call: CallSite): boolean {
  return call.node.parent?.type === "expression_statement" && call.receiver !== undefined;
}

function isClassification(py: PythonModel, call: CallSite): boolean {
  const loss = call.keywords.get("loss_fn");
  if (!loss) return false;
  const name = lossName(py, loss, call);
  return name !== undefined && CLASSIFICATION_LOSS.test(name);
}

function lossName(py: PythonModel, node: Node, at: CallSite): string | undefined {
  if (node.type === "call") return py.resolve(node.childForFieldName("function") ?? node);
  return constructorOf(py, node, at) ?? py.resolve(node);
}
