import type { Node } from "web-tree-sitter";
import { constructorOf } from "../../src/engine/python/flow.js";
import { lightningModules, subclassesOf } from "../../src/engine/python/frameworks.js";
import { boolValue, dotted, isTestPath, startOf, stringValue } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel, Span } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { autologCalls, autologFlavor, fluent } from "./_lib.js";

const SKLEARN_ESTIMATOR = /^sklearn\.[\w.]*\.[A-Z]\w*$/;
// Classes that are not fitted estimators, so autolog logs nothing of theirs.
const NOT_ESTIMATOR = /^sklearn\.(datasets|metrics|model_selection\.(?!\w*SearchCV$))/;

// What Lightning autolog records as parameters: `epochs` (the Trainer's max_epochs), the
// optimiser's class name and its defaults (lr, weight_decay, betas, eps, momentum, ...).
const LIGHTNING_PARAMS = /^(epochs|max_epochs|optimizer_name|lr|weight_decay|betas|eps|momentum|amsgrad)$/;

interface Autolog {
  call: CallSite;
  covers(flavor: string): boolean;
  before(at: Span | Node): boolean;
}

/** Autolog calls that write into the runs this code opens (`exclusive=True` ones do not). */
function activeAutolog(py: PythonModel): Autolog | undefined {
  const calls = autologCalls(py).filter((c) => boolValue(c.arg("exclusive")) !== true);
  if (calls.length === 0) return undefined;
  const flavors = new Set(calls.map(autologFlavor));
  return {
    call: calls[0],
    covers: (f) => flavors.has("*") || flavors.has(f),
    // Autolog patches training calls made after it is enabled; in another function, order is unknown.
    before: (at) => calls.some((c) => py.functionAt(c) !== py.functionAt(at) || c.end <= startOf(at)),
  };
}

/** The value a name was last bound to before `at`, or the node itself. */
function boundValue(py: PythonModel, node: Node | undefined, at: CallSite): Node | undefined {
  if (node?.type !== "identifier") return node;
  const a = py.lastAssignment(node.text, at);
  return a?.targets.length === 1 ? (a.value ?? node) : node;
}

function dictKeys(node: Node | undefined): string[] {
  if (node?.type !== "dictionary") return [];
  return node.namedChildren.flatMap((p) => {
    const k = p?.type === "pair" ? stringValue(p.childForFieldName("key")) : undefined;
    return k ? [k] : [];
  });
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  // Tests exercise tracking code with throwaway runs; they are not experiments.
  if (isTestPath(ctx.path)) return;
  const auto = activeAutolog(py);
  if (!auto) return;
  const manual = fluent(py, "log_param", "log_params", "log_metric", "log_metrics");
  if (manual.length === 0) return;
  const where = `\`${auto.call.callee.text}()\` (line ${auto.call.line})`;
  const report = (call: CallSite, what: string) =>
    ctx.report(call, {
      message:
        `${what} ${where} already records this, so the run gets it twice (often under two names) and the manual ` +
        "line is one more place to keep in sync. Drop it, and log by hand only what autolog does not capture " +
        "(data versions, custom evaluation, derived settings).",
    });

  // sklearn: autolog logs `get_params(deep=True)` of every fitted estimator, the best parameters
  // of a search, and the sklearn.metrics calls made on its predictions.
  const fits = py.methodCalls("fit", "fit_transform", "fit_predict").filter((c) => auto.before(c));
  const sklearn = auto.covers("sklearn") && py.importsModule("sklearn") && fits.length > 0;
  const estimatorKeywords = new Set<string>();
  // Dicts unpacked into an estimator's constructor (`LogisticRegression(**params)`).
  const estimatorSplats = new Set<string>();
  if (sklearn) {
    for (const c of py.calls) {
      if (c.imported && c.name && SKLEARN_ESTIMATOR.test(c.name) && !NOT_ESTIMATOR.test(c.name)) {
        for (const k of c.keywords.keys()) estimatorKeywords.add(k);
        for (const a of c.argsNode.namedChildren)
          if (a?.type === "dictionary_splat" && a.namedChildren[0]?.type === "identifier")
            estimatorSplats.add(a.namedChildren[0].text);
      }
    }
  }
  const postTraining = sklearn && boolValue(auto.call.arg("log_post_training_metrics")) !== false;
  const fitted = new Set(fits.flatMap((c) => (c.receiver ? [c.receiver.text.replace(/\s+/g, "")] : [])));
  // Keras: autolog logs `fit()`'s arguments and every epoch of the history.
  const fitCalls = fits.filter((c) => c.method === "fit");
  const keras =
    (auto.covers("tensorflow") || auto.covers("keras")) && py.importsModule("keras", "tensorflow");
  const kerasCallbackHooks = keras
    ? subclassesOf(py, ["keras.callbacks.Callback"]).flatMap((c) =>
        c.methods.filter((m) => /^on_\w*(epoch|batch)_end$/.test(m.name)),
      )
    : [];
  const fitKeywords = new Set(fitCalls.flatMap((c) => [...c.keywords.keys()]));
  const histories = new Set(
    fitCalls.flatMap((c) => {
      const stmt = c.node.parent;
      return stmt?.type === "assignment" ? [stmt.childForFieldName("left")?.text ?? ""] : [];
    }),
  );
  // Lightning: autolog logs every metric in `trainer.callback_metrics`, i.e. everything `self.log`ged.
  const lightning =
    auto.covers("pytorch") &&
    (lightningModules(py).length > 0 || py.callsTo("lightning.pytorch.Trainer").length > 0) &&
    (fitCalls.length > 0 || py.methodCalls("fit").length === 0);
  const selfLogged = new Set(
    lightning
      ? py
          .methodCalls("log")
          .flatMap((c) => (c.receiver?.text === "self" ? [stringValue(c.args[0]) ?? ""] : []))
      : [],
  );
  // XGBoost / LightGBM: autolog logs the params dict given to `train()`.
  const boosterCalls = py
    .callsTo("xgboost.train", "lightgbm.train")
    .filter((c) => auto.covers(c.name!.split(".")[0]) && auto.before(c));
  const boosterParams = new Set(
    boosterCalls.flatMap((c) => {
      const p = dotted(c.arg("params", 0));
      return p ? [p] : [];
    }),
  );
  // Keys of the params dict given to `train()`, written inline or bound to a name before it.
  const boosterKeys = new Set(boosterCalls.flatMap((c) => dictKeys(boundValue(py, c.arg("params", 0), c))));

  for (const call of manual) {
    const isParam = call.method === "log_param" || call.method === "log_params";
    const first =
      call.args[0] ?? call.arg(isParam ? (call.method === "log_param" ? "key" : "params") : "key");
    if (isParam) {
      const keys =
        call.method === "log_param" ? [stringValue(first) ?? ""] : dictKeys(boundValue(py, first, call));
      const text = call.argsNode.text;
      if (sklearn && /\.get_params\s*\(/.test(text))
        report(call, "Estimator parameters: with sklearn autolog on,");
      else if (
        sklearn &&
        first?.type === "attribute" &&
        /\.best_params_$/.test(first.text) &&
        isSearch(py, first, call)
      )
        report(call, "The search's best parameters: with sklearn autolog on,");
      else if (sklearn && first?.type === "identifier" && estimatorSplats.has(first.text))
        report(call, "These are the estimator's constructor parameters, and");
      else if (sklearn && keys.some((k) => estimatorKeywords.has(k)))
        report(call, `\`${keys.find((k) => estimatorKeywords.has(k))}\` is an estimator parameter, and`);
      else if (keras && keys.some((k) => (k === "epochs" || k === "batch_size") && fitKeywords.has(k)))
        report(
          call,
          `\`${keys.find((k) => k === "epochs" || k === "batch_size")}\` is a \`fit()\` argument, and`,
        );
      else if (boosterParams.has(dotted(first) ?? ""))
        report(call, "These are the booster's training parameters, and");
      else if (keys.some((k) => boosterKeys.has(k)))
        report(call, `\`${keys.find((k) => boosterKeys.has(k))}\` is a booster training parameter, and`);
      else if (lightning && keys.some((k) => LIGHTNING_PARAMS.test(k)))
        report(
          call,
          `\`${keys.find((k) => LIGHTNING_PARAMS.test(k))}\` is the Trainer's epoch count or an optimiser setting, and`,
        );
      continue;
    }
    const value = call.method === "log_metric" ? call.arg("value", 1) : undefined;
    const key = call.method === "log_metric" ? stringValue(first) : undefined;
    const source = boundValue(py, value, call);
    const callee = source?.type === "call" ? source.childForFieldName("function") : null;
    const scored =
      callee?.type === "attribute" &&
      callee.childForFieldName("attribute")?.text === "score" &&
      fitted.has(callee.childForFieldName("object")?.text.replace(/\s+/g, "") ?? "");
    if (
      postTraining &&
      source &&
      callee &&
      auto.before(source) &&
      (scored || py.resolve(callee)?.startsWith("sklearn.metrics."))
    )
      report(call, "This score of a fitted estimator's predictions is a post-training metric, and");
    else if (keras && kerasCallbackHooks.some((m) => m.start <= call.start && call.end <= m.end))
      report(call, "This Keras callback re-logs the per-epoch `logs` Keras hands it, and");
    else if (
      keras &&
      value &&
      [...histories].some((h) => h && new RegExp(`^${h}\\.history\\b`).test(value.text))
    )
      report(call, "This value comes from the Keras `fit()` history, and");
    else if (
      lightning &&
      ((key && selfLogged.has(key)) || /callback_metrics|logged_metrics/.test(call.argsNode.text))
    )
      report(call, "This metric is already logged through Lightning (`self.log`), and");
  }
});

function isSearch(py: PythonModel, attr: Node, at: CallSite): boolean {
  const ctor = constructorOf(py, attr.childForFieldName("object") ?? undefined, at);
  return ctor !== undefined && /^sklearn\.model_selection\.\w*SearchCV$/.test(ctor);
}
