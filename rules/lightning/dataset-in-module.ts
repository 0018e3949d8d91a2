import type { Node } from "web-tree-sitter";
import { anyNameMatches } from "../../src/engine/names.js";
import { constructorOf } from "../../src/engine/python/flow.js";
import { isTestPath, literal } from "../../src/engine/python/helpers.js";
import type { ClassDef, Param, PythonModel, Span } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import {
  chainRoot,
  DATA_CONSTRUCTORS,
  DATASET_PARAM,
  isDataAnnotation,
  lightningModules,
  localDatasetClasses,
} from "./_lib.js";

// Project dataset classes imported from elsewhere are spelled like one: `TextDataset`, `data.CocoDataset`.
const DATASET_CLASS = /(?:^|\.)[A-Z]\w*Dataset$/;

/** True when `save_hyperparameters` in the class would put `param` into the checkpoint. */
function savedAsHparam(py: PythonModel, cls: ClassDef, param: string): boolean {
  for (const call of py.callsIn(cls)) {
    if (call.method !== "save_hyperparameters") continue;
    if (call.hasSplat) return false;
    const named = call.args.map((a) => literal(a));
    if (named.length > 0) return named.some((l) => l?.kind === "str" && l.value === param);
    const ignore = literal(call.arg("ignore"));
    if (ignore?.kind === "str") return ignore.value !== param;
    if (ignore?.kind === "list") return !ignore.items.some((i) => i?.kind === "str" && i.value === param);
    return call.arg("ignore") === undefined;
  }
  return false;
}

const CONVERSIONS = ["torch.tensor", "torch.as_tensor", "torch.from_numpy", "numpy.array", "numpy.asarray"];

/** The name in `torch.tensor(df.values)` / `np.asarray(df[cols].to_numpy())` when it was read as data. */
function dataSource(py: PythonModel, call: Node, at: Span): string | undefined {
  let cur: Node | null | undefined = call.childForFieldName("arguments")?.namedChildren[0];
  for (let hops = 0; cur && hops < 6 && cur.type !== "identifier"; hops++) {
    // Only the whole table or a column selection of it (`df.values`, `df[cols].to_numpy()`), not a
    // statistic computed from it (`df["y"].value_counts().values` as class weights).
    if (cur.type === "attribute") {
      if (!/^(?:values|to_numpy)$/.test(cur.childForFieldName("attribute")?.text ?? "")) return undefined;
      cur = cur.childForFieldName("object");
    } else if (cur.type === "subscript") cur = cur.childForFieldName("value");
    else if (cur.type === "call" && (cur.childForFieldName("arguments")?.namedChildCount ?? 0) === 0)
      cur = cur.childForFieldName("function");
    else return undefined;
  }
  if (cur?.type !== "identifier") return undefined;
  const a = py.lastAssignment(cur.text, at);
  const root = constructorOf(py, cur, at) ?? chainRoot(py, a?.value ?? undefined);
  return root && anyNameMatches(root, DATA_CONSTRUCTORS) ? cur.text : undefined;
}

function isDatasetParam(py: PythonModel, p: Param): boolean {
  if (isDataAnnotation(py, p.annotation)) return true;
  // Any other annotation (`DataConfig`, `str`) says what it is; only bare names are guessed from.
  if (p.annotation || !DATASET_PARAM.test(p.name)) return false;
  // `dataset="mnist"` names a dataset rather than holding one.
  const d = literal(p.default);
  return d === undefined || d.kind === "none";
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  // Test modules build throwaway models that serve their own toy data.
  if (isTestPath(ctx.path)) return;
  const modules = lightningModules(py);
  if (modules.length === 0) return;
  const localDatasets = localDatasetClasses(py);
  for (const cls of modules) {
    const init = cls.method("__init__");
    if (!init) continue;
    const dataParams = new Set(init.explicitParams.filter((p) => isDatasetParam(py, p)).map((p) => p.name));
    for (const a of py.assignmentsIn(init.body)) {
      if (a.op !== "=" || !a.targets.some((t) => /^self\.\w+$/.test(t))) continue;
      if (py.functionAt(a) !== init) continue;
      const value = a.value;
      if (!value) continue;
      let what: string | undefined;
      let param: string | undefined;
      if (value.type === "identifier" && dataParams.has(value.text)) {
        param = value.text;
        what = `the \`${param}\` argument`;
      } else {
        const ctor = constructorOf(py, value, a) ?? chainRoot(py, value);
        if (
          ctor &&
          (anyNameMatches(ctor, DATA_CONSTRUCTORS) || localDatasets.has(ctor) || DATASET_CLASS.test(ctor))
        ) {
          what = `the result of \`${ctor}(...)\``;
        }
        // `torch.tensor(df.values)` after `df = pd.read_csv(...)`: the data converted to one array.
        const source = ctor && CONVERSIONS.includes(ctor) ? dataSource(py, value, a) : undefined;
        if (!what && source) what = `\`${source}\` converted with \`${ctor}(...)\``;
      }
      if (!what) continue;
      const checkpoint =
        param && savedAsHparam(py, cls, param)
          ? ` Because \`save_hyperparameters()\` records \`${param}\`, the whole dataset is also pickled into every checkpoint's hyperparameters.`
          : "";
      ctx.report(a, {
        message:
          `\`${a.targets.join(", ")}\` keeps ${what}, a dataset, on the LightningModule. The model then carries ` +
          "its data: it is pickled with the module (spawn-based launches, `torch.save(model)`) and cannot be " +
          `rebuilt for inference without it.${checkpoint} Move loading and the dataloaders into a ` +
          "`LightningDataModule` and pass it to `trainer.fit(model, datamodule=dm)`.",
      });
    }
  }
});
