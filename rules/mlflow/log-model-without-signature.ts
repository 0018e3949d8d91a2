import type { Node } from "web-tree-sitter";
import { subclassesOf } from "../../src/engine/python/frameworks.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";

// Flavours whose `log_model` records no signature unless given one (or an input example).
// Flavours that infer one themselves (transformers, sentence-transformers, LLM flavours) are left out.
const FLAVOURS = [
  "sklearn",
  "pytorch",
  "tensorflow",
  "keras",
  "xgboost",
  "lightgbm",
  "catboost",
  "statsmodels",
  "onnx",
  "spark",
  "h2o",
  "fastai",
  "paddle",
  "gluon",
  "prophet",
  "pmdarima",
  "spacy",
];

const PYFUNC_MESSAGE =
  "This `mlflow.pyfunc` model is logged without `signature=` or `input_example=`, and its `predict` has no type " +
  "hints MLflow could infer a signature from, so no input or output schema is recorded: serving and " +
  "`mlflow.pyfunc.load_model(...).predict` cannot check what they receive. Pass `signature=infer_signature(...)` " +
  "(from `mlflow.models`) or an `input_example=`, or annotate `predict`'s input and return types.";

/** The class a `python_model=` argument instantiates: `Wrapper()` or a name bound to `Wrapper(...)`. */
function instantiated(py: PythonModel, value: Node | undefined, at: CallSite): string | undefined {
  let v: Node | null | undefined = value;
  if (v?.type === "identifier") {
    const a = py.lastAssignment(v.text, at);
    v = a?.op === "=" && a.targets.length === 1 ? a.value : undefined;
  }
  if (v?.type !== "call") return undefined;
  const fn = v.childForFieldName("function");
  return fn?.type === "identifier" ? fn.text : undefined;
}

/** A `python_model` whose class is defined here and whose `predict` input carries no type hint. */
function untypedPythonModel(py: PythonModel, call: CallSite): boolean {
  const name = instantiated(py, call.keywords.get("python_model"), call);
  if (!name) return false;
  const cls = subclassesOf(py, ["mlflow.pyfunc.PythonModel", "mlflow.pyfunc.model.PythonModel"]).find(
    (c) => c.name === name,
  );
  const predict = cls?.methods.find((m) => m.name === "predict");
  if (!predict) return false;
  // `predict(self, context, model_input, params=None)`, or `predict(self, model_input)` in MLflow 3.
  const inputs = predict.explicitParams.filter((p) => p.name !== "context" && p.name !== "params");
  return inputs.length > 0 && !inputs[0].annotation;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const names = [...FLAVOURS.map((f) => `mlflow.${f}.log_model`), "mlflow.pyfunc.log_model"];
  const calls = py.calls.filter((c) => c.name !== undefined && c.is(...names));
  for (const call of calls) {
    if (!ctx.isAdded(call.line) || call.hasSplat) continue;
    if (call.keywords.has("signature") || call.keywords.has("input_example")) continue;
    if (call.name === "mlflow.pyfunc.log_model") {
      if (untypedPythonModel(py, call)) ctx.report(call, { message: PYFUNC_MESSAGE });
      continue;
    }
    ctx.report(call);
  }
});
