import type { Node } from "web-tree-sitter";
import { anyNameMatches } from "../../src/engine/names.js";
import { assignmentOf, rootName } from "../../src/engine/python/flow.js";
import { closest, dotted, isTestPath, isWithin, namesIn } from "../../src/engine/python/helpers.js";
import type { CallSite, FunctionDef } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { ctorOf, fittedPreprocessor, isEstimatorClass, modelKind, receiverText } from "./_lib.js";

const SAVES = ["joblib.dump", "pickle.dump", "torch.save", "cloudpickle.dump", "dill.dump", "skops.io.dump"];
const MLFLOW_SAVES = ["mlflow.*.log_model", "mlflow.*.save_model"];
// Calls that write something somewhere, including project helpers (`save_artifacts(model, scaler)`).
const PERSISTS =
  /(dump|save|save_pretrained|log_artifacts?|log_model|log_dict|to_disk|export)$|^(save|dump|export|persist|store|serialize|pickle|log_artifact)_\w+$/;
const MODEL_NAME = /(model|clf|classifier|regressor|estimator|net|learner|booster|state_dict)/i;
const PIPELINES = ["sklearn.pipeline.Pipeline", "sklearn.pipeline.make_pipeline"];

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  // Dumps, MLflow model logging, and a Keras / XGBoost model saving itself (`model.save("model.keras")`).
  const saves = py.calls.filter(
    (c) =>
      c.is(...SAVES, ...MLFLOW_SAVES) ||
      ((c.method === "save" || c.method === "save_model") &&
        !c.imported &&
        ["keras", "supervised"].includes(modelKind(py, c) ?? "")),
  );
  if (saves.length === 0) return;
  const fitted = new Map<string, string>(); // variable → preprocessor class
  for (const call of py.calls) {
    const ctor = fittedPreprocessor(py, call);
    // Keras preprocessing layers (`Normalization().adapt(x)`) are part of the model graph and saved with it.
    if (!ctor || anyNameMatches(ctor, ["keras.layers.**"])) continue;
    if (call.receiver?.type === "identifier") {
      // Handed back to the caller (`return X, scaler`): saving it is the caller's job.
      const fn = py.functionAt(call);
      const body = fn?.body.text ?? "";
      if (new RegExp(`\\breturn\\b[^\\n]*\\b${call.receiver.text}\\b`).test(body)) {
        // ...unless the caller is in this file: `model, scaler = train(X, y)` then names it here.
        if (fn) for (const name of receivedAs(fn, call.receiver.text)) fitted.set(name, ctor);
        continue;
      }
      fitted.set(call.receiver.text, ctor);
    } else if (call.receiver?.type === "attribute" && dotted(call.receiver)) {
      fitted.set(dotted(call.receiver)!, ctor); // `self.scaler`
    } else if (call.receiver?.type === "call") {
      // `scaler = StandardScaler().fit(X)` names the fitted object; `StandardScaler().fit_transform(X)`
      // leaves nothing that could be saved.
      const a = assignmentOf(py, call);
      // Only `fit` returns the estimator; `fit_transform` returns the transformed data.
      const named =
        call.method === "fit" && a?.value?.id === call.node.id && a.targets.length === 1
          ? rootName(a.targets[0])
          : undefined;
      fitted.set(named ?? `<${ctor}>`, ctor);
    }
  }
  if (fitted.size === 0) return;
  // Everything that is written somewhere: dumped, logged, saved by its own method.
  const persisted = new Set<string>();
  const wholeObjects = new Set<string>();
  for (const call of py.calls) {
    if (!call.method || !PERSISTS.test(call.method)) continue;
    for (const a of [...call.args, ...call.keywords.values()]) {
      for (const n of namesIn(a)) persisted.add(n);
      for (const m of a.text.replace(/\s+/g, "").matchAll(/\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+/g))
        persisted.add(m[0]);
    }
    const recv = receiverText(call);
    if (recv) persisted.add(rootName(recv) ?? recv).add(recv);
    // `joblib.dump(self, path)` saves every attribute of the object.
    for (const a of [...call.args, ...call.keywords.values()]) if (dotted(a)) wholeObjects.add(dotted(a)!);
  }
  const insideSaved = (name: string) =>
    name.split(".").some((_, i, parts) => i > 0 && wholeObjects.has(parts.slice(0, i).join(".")));
  const missing = [...fitted].filter(([name]) => !persisted.has(name) && !insideSaved(name));
  if (missing.length === 0) return;
  for (const save of saves) {
    if (!savesAModel(save)) continue;
    const [name, ctor] = missing[0];
    const cls = ctor.split(".").pop();
    const which = name.startsWith("<") ? `a fitted ${cls}` : `the fitted ${cls} \`${name}\``;
    ctx.report(save, {
      message:
        `The model is saved here but ${which} it was trained with is not, so inference cannot reproduce the ` +
        "training features. Save the preprocessing with the model (dump both together) or, better, wrap them " +
        "in one `Pipeline` and save that.",
    });
    return;
  }

  /** Names that callers in this file unpack a returned object into (`model, scaler = train(...)`). */
  function receivedAs(fn: FunctionDef, returned: string): string[] {
    const out: string[] = [];
    for (const r of fn.body.descendantsOfType("return_statement")) {
      const value = r?.firstNamedChild;
      if (!value || closest(value, "function_definition")?.id !== fn.node.id) continue;
      const items = /^(expression_list|tuple)$/.test(value.type) ? value.namedChildren : [value];
      const index = items.findIndex((i) => i?.text === returned);
      if (index < 0) continue;
      for (const c of py.calls) {
        if (c.receiver || c.name !== fn.name || isWithin(c, fn)) continue;
        const a = assignmentOf(py, c);
        if (a?.value?.id === c.node.id && a.targets.length === items.length) out.push(a.targets[index]);
      }
    }
    return out;
  }

  function savesAModel(save: CallSite): boolean {
    if (!save.is(...SAVES, ...MLFLOW_SAVES)) return true; // `model.save(...)`: the model saves itself
    const obj =
      save.args[0] ?? save.keywords.get("value") ?? save.keywords.get("obj") ?? save.keywords.get("sk_model");
    return !!obj && isModel(obj, save, 0);
  }

  /** The object is a model, or a tuple / list / dict holding one (`(scaler, model)`, `{"model": clf}`). */
  function isModel(obj: Node, save: CallSite, depth: number): boolean {
    if (["tuple", "list", "parenthesized_expression"].includes(obj.type) && depth < 2)
      return obj.namedChildren.some((c) => !!c && isModel(c, save, depth + 1));
    if (obj.type === "dictionary" && depth < 2)
      return obj.namedChildren.some((p) => {
        const v = p?.type === "pair" ? p.childForFieldName("value") : null;
        return !!v && isModel(v, save, depth + 1);
      });
    if (obj.type === "call") return /state_dict\s*\(\s*\)$/.test(obj.text);
    // `clf = LogisticRegression().fit(X, y)` names the estimator too (`ctorOf` follows the `fit` chain).
    const ctor = ctorOf(py, obj, save);
    if (ctor && anyNameMatches(ctor, PIPELINES)) return false;
    if (ctor) return isEstimatorClass(ctor) || /^(torch\.nn|keras)\./.test(ctor);
    return obj.type === "identifier" || obj.type === "attribute" ? MODEL_NAME.test(obj.text) : false;
  }
});
