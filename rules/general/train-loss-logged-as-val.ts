import type { Node } from "web-tree-sitter";
import { lightningModules } from "../../src/engine/python/frameworks.js";
import { isTestPath, namesIn, stringValue } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel, Span } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";

// A key or label that names validation / test results: `val_loss`, `val/acc`, `Validation loss`,
// `test_acc`. `valid` alone often means "non-padding" (`valid_tokens`), so it needs a metric after it.
const HELD_OUT_KEY =
  /(^|[^A-Za-z])(val|Val|VAL|validation|Validation|VALIDATION|test|Test|TEST)([^a-z]|$)|(^|[^A-Za-z])[Vv]alid[_/ .-]?(loss|acc|accuracy|f1|auc|score|metric|error|err|mae|mse|rmse|ppl|perplexity|iou|dice|bleu|top)/;
const TRAIN_LABEL = /train/i;
// Only results are judged: `val_size`, `test_batches` are bookkeeping.
const RESULT_LABEL =
  /loss|acc|f1|auc|score|err|mae|mse|rmse|iou|dice|ppl|perplexity|precision|recall|metric|bleu|rouge|wer|cer|map\b|top/i;
const TRAIN_NAME = /^(train|training|tr)_|_(train|training)(_|$)|^train(ing)?[A-Z]/;
const HELD_OUT_NAME = /(^|_)(val|valid|validation|test|eval|dev)(_|$)|^(val|valid|test|eval|dev)[A-Z0-9]/;

// A training entry of a Keras History: `history.history["loss"]`, `hist.history['accuracy']`.
const TRAIN_HISTORY =
  /\b\w*hist\w*(?:\.history)?\s*\[\s*["'](loss|acc|accuracy|mae|mse|auc|precision|recall)["']\s*\]/;

const KEY_VALUE_METHODS = new Set(["log", "log_metric", "add_scalar", "log_scalar"]);
const DICT_METHODS = new Set(["log", "log_dict", "log_metrics", "add_scalars"]);
const TEXT_METHODS = new Set(["info", "debug", "write", "set_description", "set_postfix_str"]);

interface Logged {
  /** Where the validation name is written (a key, or the string of a message). */
  at: Node;
  label: string;
  value: Node;
  call: CallSite;
  /** A history list (`val_losses.append(v)`) rather than a logged or printed value. */
  recorded?: boolean;
}

/** `val_losses.append(loss.item())`: a value kept in a validation/test history list. */
function historyAppend(call: CallSite): Logged | undefined {
  const list = call.receiver;
  const value = call.args[0];
  if (call.args.length !== 1 || !value || (list?.type !== "identifier" && list?.type !== "attribute"))
    return undefined;
  return { at: list, label: list.text.replace(/\s+/g, ""), value, call, recorded: true };
}

function keyValuePairs(call: CallSite): Logged[] {
  const out: Logged[] = [];
  const m = call.method ?? "";
  const first = call.args[0];
  const key = call.keywords.get("key") ?? call.keywords.get("name") ?? call.keywords.get("tag");
  const keyNode = key ?? (first?.type === "string" ? first : undefined);
  if (KEY_VALUE_METHODS.has(m) && keyNode) {
    const value = call.keywords.get("value") ?? call.keywords.get("scalar_value") ?? call.args[key ? 0 : 1];
    const label = stringValue(keyNode);
    if (value && label !== undefined) out.push({ at: keyNode, label, value, call });
    return out;
  }
  if (!DICT_METHODS.has(m)) return out;
  const kw = call.keywords;
  const dict =
    m === "add_scalars"
      ? (kw.get("tag_scalar_dict") ?? call.args[1])
      : (first ?? kw.get("metrics") ?? kw.get("dictionary") ?? kw.get("data"));
  if (dict?.type !== "dictionary") return out;
  const prefix = m === "add_scalars" ? `${stringValue(kw.get("main_tag") ?? first) ?? ""}/` : "";
  for (const pair of dict.namedChildren) {
    if (pair?.type !== "pair") continue;
    const k = pair.childForFieldName("key");
    const v = pair.childForFieldName("value");
    const label = stringValue(k);
    if (k && v && label !== undefined) out.push({ at: k, label: prefix + label, value: v, call });
  }
  return out;
}

/** Values in a printed message, each with the text written just before it: `f"val loss {x}"` → ("val loss ", x). */
function messageParts(call: CallSite): Logged[] {
  const out: Logged[] = [];
  let label = "";
  let labelNode: Node | undefined;
  const addString = (s: Node) => {
    let text = "";
    for (const part of s.namedChildren) {
      if (!part) continue;
      if (part.type === "string_content") text += part.text;
      else if (part.type === "interpolation") {
        const expr = part.namedChildren[0];
        if (expr) out.push({ at: s, label: label + text, value: expr, call });
        label = "";
        text = "";
      }
    }
    label += text;
    labelNode = s;
  };
  for (const arg of call.args) {
    if (arg.type === "string") addString(arg);
    else if (arg.type === "binary_operator" && arg.childForFieldName("left")?.type === "string") {
      // "val loss %.3f" % loss
      addString(arg.childForFieldName("left")!);
      const right = arg.childForFieldName("right");
      if (right && labelNode) out.push({ at: labelNode, label, value: right, call });
    } else if (labelNode) out.push({ at: labelNode, label, value: arg, call });
  }
  return out;
}

/** The backward call that last back-propagated `name` before `at`, with no reassignment in between. */
function backpropagated(py: PythonModel, name: string, at: Span): CallSite | undefined {
  const fn = py.functionAt(at);
  const assigned = py.lastAssignment(name, at);
  const from = assigned?.end ?? fn?.start ?? 0;
  let found: CallSite | undefined;
  for (const c of py.methodCalls("backward", "manual_backward")) {
    if (c.start < from || c.start >= at.start || py.functionAt(c) !== fn) continue;
    const reads = c.receiver ? namesIn(c.receiver) : new Set<string>();
    for (const a of c.args) for (const n of namesIn(a)) reads.add(n);
    if (reads.has(name)) found = c;
  }
  return found;
}

/**
 * A running sum of the back-propagated loss before `at`: `total += loss.item()` after
 * `loss.backward()`, with no reset (`total = 0.0`) in between.
 */
function accumulatedLoss(py: PythonModel, name: string, at: Span): CallSite | undefined {
  const fn = py.functionAt(at);
  let found: CallSite | undefined;
  for (const a of py.assignments) {
    if (a.start >= at.start) break;
    if (!a.targets.includes(name) || py.functionAt(a) !== fn) continue;
    const v = a.value;
    const added =
      a.op === "+="
        ? v
        : a.op === "=" && v?.type === "binary_operator" && v.childForFieldName("left")?.text === name
          ? v.childForFieldName("right")
          : undefined;
    if (!added) {
      found = undefined;
      continue;
    }
    for (const n of namesIn(added)) found ??= backpropagated(py, n, a);
  }
  return found;
}

export default defineCheck((ctx) => {
  // Test fixtures build these patterns on purpose.
  if (isTestPath(ctx.path)) return;
  const { py } = ctx;
  const logged: Logged[] = [];
  for (const call of py.calls) {
    const m = call.method;
    if (!m) continue;
    if (call.name === "print" || TEXT_METHODS.has(m)) logged.push(...messageParts(call));
    else if (KEY_VALUE_METHODS.has(m) || DICT_METHODS.has(m)) logged.push(...keyValuePairs(call));
    else if (m === "append") {
      const h = historyAppend(call);
      if (h) logged.push(h);
    }
  }
  const candidates = logged.filter(
    (l) => HELD_OUT_KEY.test(l.label) && RESULT_LABEL.test(l.label) && !TRAIN_LABEL.test(l.label),
  );
  if (candidates.length === 0) return;
  const trainingSteps = lightningModules(py)
    .map((cls) => cls.method("training_step"))
    .filter((f) => f !== undefined);
  const reported = new Set<number>();
  for (const l of candidates) {
    const line = l.at.startPosition.row + 1;
    if (reported.has(line) || !ctx.isAdded(line)) continue;
    const names = [...namesIn(l.value)];
    const shown = l.label.trim();
    const as = l.recorded ? `recorded in \`${shown}\`` : `reported as \`${shown}\``;
    let message: string | undefined;
    if (names.some((n) => HELD_OUT_NAME.test(n))) {
      // `val_loss = running_loss / len(train_loader)`: a validation name bound to a training value.
      const alias = names.find((n) => HELD_OUT_NAME.test(n));
      const from = alias ? py.lastAssignment(alias, l.call) : undefined;
      const reads = from?.op === "=" && from.value ? [...namesIn(from.value)] : [];
      const source = reads.some((n) => HELD_OUT_NAME.test(n))
        ? undefined
        : (reads.find((n) => TRAIN_NAME.test(n) && !py.imports.has(n)) ??
          reads.find((n) => backpropagated(py, n, from!) ?? accumulatedLoss(py, n, from!)));
      if (!source || names.length !== 1) continue;
      message = `\`${alias}\` is computed from \`${source}\` (line ${from!.line}), which comes from training, and is ${as}, so training performance is presented as held-out performance. Compute it on the validation/test split (a separate pass over its loader) instead.`;
      reported.add(line);
      ctx.report(l.at, { message });
      continue;
    }
    const step = trainingSteps.find((f) => py.functionAt(l.call) === f);
    if (step && l.call.receiver?.text === "self" && !l.recorded) {
      message = `\`${shown}\` is logged from \`training_step\`, so it is computed on a training batch (in train mode) yet named as a validation/test result. Log it as \`train_*\` here, and compute the \`val_*\` value in \`validation_step\` on the validation loader.`;
    } else {
      // An imported `train_utils` module is not training data.
      const trainName = names.find((n) => TRAIN_NAME.test(n) && !py.imports.has(n));
      const history = trainName ? undefined : TRAIN_HISTORY.exec(l.value.text);
      const back =
        trainName || history
          ? undefined
          : names.map((n) => ({ n, c: backpropagated(py, n, l.call) })).find((x) => x.c);
      const sum =
        trainName || back
          ? undefined
          : names.map((n) => ({ n, c: accumulatedLoss(py, n, l.call) })).find((x) => x.c);
      if (history)
        message = `\`${history[0]}\` is what Keras recorded on the training data, yet it is ${as}; the validation values are under \`"val_${history[1]}"\`. Report \`history.history["val_${history[1]}"]\` here, or name it \`train_*\`.`;
      else if (trainName)
        message = `\`${trainName}\` is computed on training data but ${l.recorded ? "recorded in" : "reported under"} the validation/test name \`${shown}\`, so training performance is presented as held-out performance. Report the value computed on the validation/test split here, or rename the key to \`train_*\`.`;
      else if (back)
        message = `\`${back.n}\` is the loss just back-propagated on a training batch (line ${back.c!.line}), yet it is ${as}: that is training loss, not validation loss. Compute the validation loss in a separate pass over the validation loader (under \`model.eval()\` and \`torch.no_grad()\`) and report that.`;
      else if (sum)
        message = `\`${sum.n}\` adds up the loss back-propagated on the training batches (line ${sum.c!.line}), yet it is ${as}: that is training loss, not validation loss. Compute the validation loss in a separate pass over the validation loader (under \`model.eval()\` and \`torch.no_grad()\`) and report that.`;
    }
    if (!message) continue;
    reported.add(line);
    ctx.report(l.at, { message });
  }
});
