import { defineCheck } from "../../src/engine/rule.js";
import { kanTrainings } from "./_lib.js";

const REFINES = new Set([
  "refine",
  "update_grid_from_samples",
  "update_grid",
  "initialize_from_another_model",
  "initialize_grid_from_another_model",
]);

export default defineCheck((ctx) => {
  const { py } = ctx;
  const trainings = kanTrainings(py);
  if (trainings.length === 0) return;
  if (py.calls.some((c) => c.method !== undefined && REFINES.has(c.method))) return;
  // A loop that rebuilds the KAN on a growing grid (`for g in grids: KAN(grid=g)`) refines too.
  if (trainings.some(({ model }) => py.loopsAt(model.ctor).length > 0 && model.ctor.keywords.has("grid")))
    return;
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
