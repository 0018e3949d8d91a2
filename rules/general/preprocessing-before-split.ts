import type { Node } from "web-tree-sitter";
import { anyNameMatches } from "../../src/engine/names.js";
import {
  assignmentOf,
  constructorOf,
  followNames,
  rootName,
  type SplitCall,
  splitCalls,
  splitOutputs,
  splitReads,
} from "../../src/engine/python/flow.js";
import { namesIn, stringValue } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { dataNames, FIT_METHODS, methodSite, PREPROCESSORS, preprocessorOf } from "./_lib.js";

/** Vocabulary builds whose result is the fitted state: torchtext's builder, a tokenizer retrained on texts. */
function vocabularyBuild(call: CallSite): string | undefined {
  if (call.is("torchtext.vocab.build_vocab_from_iterator")) return "torchtext vocabulary";
  if (call.method === "train_new_from_iterator") return "retrained tokenizer";
  return undefined;
}

/** `self.scaler.fit_transform(X)` where `self.scaler = StandardScaler()` is set in the same class. */
function selfPreprocessorOf(py: PythonModel, call: CallSite): string | undefined {
  const recv = call.receiver;
  if (!call.method || !FIT_METHODS.includes(call.method) || recv?.type !== "attribute") return undefined;
  if (recv.childForFieldName("object")?.text !== "self") return undefined;
  const cls = py.classAt(call);
  if (!cls) return undefined;
  const target = recv.text.replace(/\s+/g, "");
  let found: string | undefined;
  for (const a of py.assignments) {
    if (a.op !== "=" || a.targets.length !== 1 || a.targets[0] !== target || py.classAt(a) !== cls) continue;
    if (a.value?.type !== "call") return undefined;
    const ctor = py.resolve(a.value.childForFieldName("function") ?? a.value);
    if (found !== undefined && found !== ctor) return undefined;
    found = ctor;
  }
  return found && anyNameMatches(found, PREPROCESSORS) && /\.[A-Z_a-z]\w*$/.test(found) ? found : undefined;
}

const LABEL_ENCODER = "sklearn.preprocessing.LabelEncoder";

/**
 * A `LabelEncoder` used as a feature encoder: `df["city"] = le.fit_transform(df["city"])`, written
 * back into a frame column that the file never treats as the label (no `drop`/`pop` of it, no
 * `y = df["city"]`). On the label column it only learns class names and is left alone.
 */
function featureLabelEncoder(py: PythonModel, text: string, call: CallSite): string | undefined {
  if (call.method !== "fit" && call.method !== "fit_transform") return undefined;
  if (constructorOf(py, call.receiver, call) !== LABEL_ENCODER) return undefined;
  const own = assignmentOf(py, call);
  const arg = call.args[0];
  if (own?.targets.length !== 1 || !/^\w+\s*\[/.test(own.targets[0]) || arg?.type !== "subscript")
    return undefined;
  const subs = arg.childrenForFieldName("subscript").filter((c): c is Node => !!c);
  const key = subs.length === 1 ? stringValue(subs[0]) : undefined;
  // A column named by a loop variable (`for col in cat_cols`) is a feature column.
  if (key === undefined) {
    const name = subs.length === 1 && subs[0].type === "identifier" ? subs[0].text : undefined;
    const loopVar =
      name !== undefined &&
      !/target|label/i.test(name) &&
      py.loopsAt(call).some((l) => l.kind === "for" && l.node.childForFieldName("left")?.text === name);
    return loopVar ? LABEL_ENCODER : undefined;
  }
  const k = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const q = `["']${k}["']`;
  const asLabel = new RegExp(
    `\\b(drop|pop)\\s*\\([^)]*${q}|\\b(y|y_\\w*|target\\w*|labels?)\\s*=\\s*\\w+\\s*\\[\\s*${q}\\s*\\]|\\b(TARGET|LABEL)\\w*\\s*=\\s*${q}`,
    "i",
  );
  return asLabel.test(text) ? undefined : LABEL_ENCODER;
}

// Encoders of categories: fitted on the labels they only learn the class names, which is no leak.
const CATEGORY_ENCODERS = [
  "sklearn.preprocessing.OneHotEncoder",
  "sklearn.preprocessing.OrdinalEncoder",
  "keras.layers.StringLookup",
  "keras.layers.IntegerLookup",
  LABEL_ENCODER,
];

/** Like `splitReads`, but leaving out the label: the last of two or more data arguments. */
function featuresRead(split: SplitCall, names: Set<string>): boolean {
  const data = split.data.length >= 2 ? split.data.slice(0, -1) : split.data;
  return data.some((d) => [...namesIn(d)].some((n) => names.has(n)));
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const splits = splitCalls(py);
  if (splits.length === 0) return;
  for (const call of py.calls) {
    const ctor =
      preprocessorOf(py, call) ??
      selfPreprocessorOf(py, call) ??
      vocabularyBuild(call) ??
      featureLabelEncoder(py, ctx.text, call);
    if (!ctor) continue;
    const data: Node | undefined =
      call.arg("X", 0) ??
      call.arg("raw_documents", 0) ??
      call.arg("texts", 0) ??
      call.arg("data", 0) ??
      call.arg("iterator", 0) ??
      call.arg("text_iterator", 0);
    if (!data) continue;
    const scope = py.functionAt(call);
    // `self` is too coarse a root to follow: every attribute of the object would look like this data.
    const fitted = [...dataNames(py, data)].filter((n) => n !== "self");
    if (fitted.length === 0) continue;
    // Data that already came out of a split (X_train) is what should be fitted on.
    const earlierOutputs = new Set(
      splits
        .filter((s) => s.call.end <= call.start && py.functionAt(s.call) === scope)
        .flatMap((s) => splitOutputs(py, s)),
    );
    if (fitted.some((n) => earlierOutputs.has(n))) continue;
    // A name that says train (`X_train`, `train_df`) is taken as the training part, unless that very
    // frame is split later in this scope: Kaggle's `train = pd.read_csv("train.csv")`, scaled, then
    // cut into train and validation.
    if (
      fitted.some((n) => /train|_tr$|^tr_/i.test(n)) &&
      !splits.some(
        (s) =>
          s.call.start > call.end &&
          py.functionAt(s.call) === scope &&
          splitReads(s, followNames(py, new Set(fitted), call.end, s.call, scope)),
      )
    )
      continue;
    // Fitting inside a loop over folds: the fold's own rows, or at least not "before" the split.
    if (
      py
        .loopsAt(call)
        .some((l) =>
          splits.some((s) => l.iter && s.call.start >= l.iter.startIndex && s.call.end <= l.iter.endIndex),
        )
    )
      continue;
    // What carries the fitted statistics: the fit's own result and the fitted object.
    const carriers = new Set<string>();
    const own = assignmentOf(py, call);
    if (own) for (const t of own.targets) if (rootName(t)) carriers.add(rootName(t)!);
    const fittedObject =
      call.receiver?.type === "identifier" || call.receiver?.type === "attribute"
        ? rootName(call.receiver.text)
        : undefined;
    if (fittedObject && fittedObject !== "self") carriers.add(fittedObject);
    // Follow from after the fit's own statement, which would otherwise rebind its result.
    const from = own?.end ?? call.end;
    const inScope = splits.filter((s) => s.call.start > call.end && py.functionAt(s.call) === scope);
    const later = inScope.find((s) => {
      const reads = anyNameMatches(ctor, CATEGORY_ENCODERS) ? featuresRead : splitReads;
      if (reads(s, followNames(py, carriers, from, s.call, scope))) return true;
      // The raw data is split, and the preprocessor fitted on all of it is applied afterwards.
      if (
        !fittedObject ||
        fittedObject === "self" ||
        !(anyNameMatches(ctor, CATEGORY_ENCODERS) ? featuresRead : splitReads)(
          s,
          followNames(py, fitted, from, s.call, scope),
        )
      )
        return false;
      return py.calls.some(
        (c) =>
          c.start > s.call.end &&
          c.receiver !== undefined &&
          rootName(c.receiver.text) === fittedObject &&
          py.functionAt(c) === scope,
      );
    });
    const cls = ctor.includes(" ") ? ctor : ctor.split(".").pop();
    if (!later) {
      // Split first, then fitted on the unsplit data anyway, and the fitted object put to use.
      const earlier = splits.find(
        (s) =>
          s.call.end <= call.start &&
          py.functionAt(s.call) === scope &&
          s.kind === "train_test_split" &&
          featuresRead(s, new Set(fitted)) &&
          !py.assignments.some(
            (a) => a.start > s.call.end && a.start < call.start && a.targets.some((t) => fitted.includes(t)),
          ),
      );
      // Put to use on the split parts: it transforms them, or goes into a model that is trained on
      // them. Refitting on everything to save for deployment (`joblib.dump(scaler)`) is not this.
      const parts = new Set(earlier ? splitOutputs(py, earlier) : []);
      const after = py.calls.filter((c) => c.start > call.end && py.functionAt(c) === scope);
      const readsParts = (c: CallSite) => [...namesIn(c.argsNode)].some((n) => parts.has(n));
      // `scaler = StandardScaler().fit(X)`: `fit` returns the fitted object.
      const holder =
        fittedObject ??
        (call.method === "fit" && own?.targets.length === 1 ? rootName(own.targets[0]) : undefined);
      const used =
        holder !== undefined &&
        holder !== "self" &&
        after.some(
          (c) =>
            (c.receiver !== undefined &&
              rootName(c.receiver.text) === holder &&
              c.method === "transform" &&
              readsParts(c)) ||
            (!/dump|save|pickle|log|print|write/i.test(c.method ?? c.name ?? "") &&
              [...c.args, ...c.keywords.values()].some((a) => a.type === "identifier" && a.text === holder) &&
              after.some((f) => f.method === "fit" && readsParts(f))),
        );
      if (earlier && used && fitted.length === 1 && !anyNameMatches(ctor, CATEGORY_ENCODERS)) {
        ctx.report(methodSite(call), {
          message:
            `This ${cls} is fitted on all of \`${fitted[0]}\`, which was already split into train and test on line ` +
            `${earlier.call.line}, so statistics from the test rows leak into training. Fit it on the training part ` +
            "only.",
        });
      }
      continue;
    }
    const splitName = later.kind === "cross_validation" ? "cross-validated" : "split";
    ctx.report(methodSite(call), {
      message:
        `This ${cls} is fitted on the full data, which is ${splitName} later (line ${later.call.line}), so statistics ` +
        "from the test rows leak into training. Split first and fit on the training part only, or put the " +
        "preprocessing in a `Pipeline` so each fold fits its own.",
    });
  }
});
