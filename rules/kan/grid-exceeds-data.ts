import { numberValue } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { importsKan, kanModels, kanOf } from "./_lib.js";

// create_dataset's default number of training samples.
const DEFAULT_TRAIN_NUM = 1000;
const ABSOLUTE_LIMIT = 100;

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (!importsKan(py)) return;
  const datasets = py.calls.filter(
    (c) => c.name === "create_dataset" || c.is("kan.create_dataset", "kan.utils.create_dataset"),
  );
  const trainNums = datasets
    .map((d) =>
      d.keywords.has("train_num")
        ? numberValue(d.keywords.get("train_num"))
        : d.hasSplat
          ? undefined
          : DEFAULT_TRAIN_NUM,
    )
    .filter((n): n is number => n !== undefined);
  const trainNum = trainNums.length > 0 ? Math.min(...trainNums) : undefined;
  // Rebuilding a KAN to load trained weights: the grid has to match the checkpoint.
  const loaded = new Set(
    py
      .methodCalls("load_state_dict", "loadckpt", "load_ckpt")
      .map((c) => kanOf(py, c)?.ctor)
      .filter((c) => c !== undefined),
  );
  for (const { ctor } of kanModels(py)) {
    if (loaded.has(ctor)) continue;
    const node = ctor.arg("grid", 1);
    const grid = numberValue(node);
    if (!node || grid === undefined) continue;
    const tooBig = grid >= ABSOLUTE_LIMIT || (trainNum !== undefined && grid >= trainNum / 10);
    if (!tooBig) continue;
    const scale =
      trainNum !== undefined && grid >= trainNum / 10
        ? `for ${trainNum} training samples (each spline then has about one coefficient per ${Math.max(1, Math.round(trainNum / grid))} samples)`
        : `unless the training set has well over ${10 * grid} samples`;
    ctx.report(node, {
      message:
        `A grid of ${grid} intervals is very fine ${scale}; every edge gets that many spline coefficients, so the ` +
        "KAN can memorise the data. Start with a coarse grid (3 to 10) and extend it with `model.refine(...)` while " +
        "the test loss keeps improving.",
    });
  }
});
