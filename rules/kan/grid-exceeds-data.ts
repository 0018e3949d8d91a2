import type { Node } from "web-tree-sitter";
import { numberValue } from "../../src/engine/python/helpers.js";
import type { PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { importsKan, kanModels, kanOf } from "./_lib.js";

// create_dataset's default number of training samples.
const DEFAULT_TRAIN_NUM = 1000;
const ABSOLUTE_LIMIT = 100;
// Random training inputs built by hand: `x_train = torch.rand(200, 2)`,
// `dataset = {"train_input": torch.rand(200, 2) * 2 - 1, ...}`.
const SAMPLERS = [
  "torch.rand",
  "torch.randn",
  "numpy.random.rand",
  "numpy.random.randn",
  "numpy.random.uniform",
];
// The name (or dict key) the training inputs go to: `x_train`, `X_train`, `train_input`, `train_x`.
const TRAIN_TARGET =
  /^(x|inputs?|data|features?|points|samples)_?train$|^train_?(x|inputs?|data|set|points|samples|features?)$/i;

/** Literal row counts of hand-built training inputs. */
function tensorTrainSizes(py: PythonModel): number[] {
  const out: number[] = [];
  for (const c of py.callsTo(...SAMPLERS)) {
    const shape = c.keywords.get("size") ?? (c.is("numpy.random.uniform") ? c.args[2] : c.args[0]);
    const rows = numberValue(
      shape?.type === "tuple" || shape?.type === "list" ? shape.namedChildren[0] : shape,
    );
    if (rows === undefined || !Number.isInteger(rows)) continue;
    // The sample goes to a training name: an assignment target, or the key of the dict entry it sits in.
    let named = false;
    for (let n: Node | null = c.node.parent; n; n = n.parent) {
      const target =
        n.type === "pair"
          ? n.childForFieldName("key")
          : n.type === "assignment"
            ? n.childForFieldName("left")
            : undefined;
      if (target) {
        named = TRAIN_TARGET.test(/(\w+)["']?\]?\s*$/.exec(target.text)?.[1] ?? "");
        break;
      }
      if (n.type === "expression_statement" || n.type === "block" || n.type === "module") break;
    }
    if (named) out.push(rows);
  }
  return out;
}

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
  trainNums.push(...tensorTrainSizes(py));
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
