import type { Node } from "web-tree-sitter";
import { anyNameMatches } from "../../src/engine/names.js";
import { assignmentOf, constructorOf } from "../../src/engine/python/flow.js";
import { dotted, isTestPath } from "../../src/engine/python/helpers.js";
import type { PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";

// Fitted state a model needs at prediction time. Keras preprocessing layers are left out: they
// are normally layers of the model itself and are saved with it.
const PREPROCESSORS = [
  "sklearn.preprocessing.*Scaler",
  "sklearn.preprocessing.*Encoder",
  "sklearn.preprocessing.*Binarizer",
  "sklearn.preprocessing.*Transformer",
  "sklearn.preprocessing.KBinsDiscretizer",
  "sklearn.preprocessing.PolynomialFeatures",
  "sklearn.preprocessing.Normalizer",
  "sklearn.impute.*",
  "sklearn.decomposition.*",
  "sklearn.feature_selection.*",
  "sklearn.feature_extraction.*",
  "sklearn.feature_extraction.text.*",
  "sklearn.compose.ColumnTransformer",
  "sklearn.compose.make_column_transformer",
  "category_encoders.*",
  "keras.preprocessing.text.Tokenizer",
  "keras.src.legacy.preprocessing.text.Tokenizer",
  "tokenizers.Tokenizer",
  "tokenizers.*Tokenizer",
  "gensim.corpora.Dictionary",
];
const FIT_METHODS = new Set([
  "fit",
  "fit_transform",
  "fit_on_texts",
  "train",
  "train_from_iterator",
  "add_documents",
]);
const VOCAB_BUILDERS = ["torchtext.vocab.build_vocab_from_iterator", "torchtext.vocab.vocab"];
const PACKAGING = /pipeline|wrap|bundle|pack|compose|model|predictor|union/i;
// Calls that keep an object but do not put it into the run.
const NOT_PACKAGING = new Set([
  "dump",
  "save",
  "print",
  "info",
  "debug",
  "warning",
  "len",
  "type",
  "isinstance",
  "repr",
  "str",
]);

interface Fitted {
  /** The variable holding the fitted object, when there is one. */
  name?: string;
  what: string;
  line: number;
}

function fittedPreprocessors(py: PythonModel): Fitted[] {
  const out: Fitted[] = [];
  for (const call of py.calls) {
    let ctor: string | undefined;
    let holder: Node | undefined;
    if (call.method && FIT_METHODS.has(call.method) && call.receiver) {
      ctor = constructorOf(py, call.receiver, call);
      if (!ctor || !anyNameMatches(ctor, PREPROCESSORS)) continue;
      holder = call.receiver.type === "call" ? undefined : call.receiver;
      // `scaler = StandardScaler().fit(X)` keeps the fitted object; `fit_transform` returns data.
      if (!holder && call.method === "fit") {
        const a = assignmentOf(py, call);
        if (a?.targets.length === 1 && a.value?.startIndex === call.start) holder = a.left;
      }
    } else if ((call.is(...VOCAB_BUILDERS) && call.imported) || call.method === "train_new_from_iterator") {
      // These return the fitted vocabulary / tokenizer as a new object.
      ctor = call.method === "train_new_from_iterator" ? "tokenizer" : call.name;
      const a = assignmentOf(py, call);
      if (a?.targets.length !== 1) continue;
      holder = a.left;
    } else continue;
    const name = dotted(holder);
    if (name && out.some((f) => f.name === name)) continue;
    out.push({
      name,
      what: name ? `\`${name}\` (${ctor!.split(".").pop()})` : `a ${ctor!.split(".").pop()}`,
      line: call.line,
    });
  }
  return out;
}

/** True when `name` is handed on as a value (into a wrapper, a pipeline, a dict), not only used. */
function packaged(py: PythonModel, name: string): boolean {
  const direct = (n: Node | null | undefined): boolean => {
    if (!n) return false;
    if (dotted(n) === name) return true;
    if (["list", "tuple", "dictionary", "pair", "set"].includes(n.type))
      return n.namedChildren.some((c) => direct(c));
    return false;
  };
  for (const c of py.calls) {
    const m = c.method ?? "";
    // Handed to a class (a wrapper model) or to something that bundles models, not to a helper that uses it.
    if (NOT_PACKAGING.has(m) || !(/^[A-Z]/.test(m) || PACKAGING.test(m))) continue;
    if (c.args.some(direct) || [...c.keywords.values()].some(direct)) return true;
  }
  return py.assignments.some((a) => a.value !== undefined && a.value.type !== "call" && direct(a.value));
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  // Tests exercise tracking code with throwaway runs; they are not experiments.
  if (isTestPath(ctx.path)) return;
  const models = py.callsTo("mlflow.*.log_model").filter((c) => c.imported);
  if (models.length === 0) return;
  // Fluent or client: anything logged besides the model may well be the preprocessing.
  if (py.methodCalls("log_artifact", "log_artifacts", "log_dict", "log_text").length > 0) return;
  const missing = fittedPreprocessors(py).filter((f) => !f.name || !packaged(py, f.name));
  if (missing.length === 0) return;
  for (const call of models) {
    if (call.keywords.has("artifacts") || call.keywords.has("code_paths") || call.hasSplat) continue;
    const listed = missing.slice(0, 2).map((f) => `${f.what}, fitted on line ${f.line}`);
    ctx.report(call, {
      message:
        `This model is logged alone, but the file fits preprocessing it depends on: ${listed.join("; ")}` +
        `${missing.length > 2 ? `, and ${missing.length - 2} more` : ""}. Whoever loads the model from MLflow ` +
        "cannot reproduce its inputs without it. Log the fitted preprocessing too (`mlflow.log_artifact` of a " +
        "saved copy, or as its own model), or better, log one `Pipeline` that contains it.",
    });
  }
});
