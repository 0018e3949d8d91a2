import type { Node } from "web-tree-sitter";
import { constructorOf } from "../../src/engine/python/flow.js";
import { isTestPath } from "../../src/engine/python/helpers.js";
import type { Assignment, CallSite, Loop, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";

// A per-batch metric is a ratio (accuracy, F1, IoU, ...); losses are left to the loss rules, and
// counts (`correct`, `total`) are the numerator/denominator way of doing it right.
const METRIC_NAME = /acc|f1|fscore|fbeta|precision|recall|iou|dice|auc|psnr|ssim|bleu|metric|score|mae|rmse/i;
const NOT_A_RATIO_NAME = /loss|correct|count|num_|n_samples|samples|seen|total$|^total_?(n|size)/i;
const RATIO_VALUE =
  /\.mean\s*\(|accuracy|_score\s*\(|\bf1|fbeta|iou|dice|auc|psnr|ssim|bleu|metric|\bacc|precision|recall/i;
// Weighted by the batch size (then dividing by the batch count is not the mistake), or a count.
const WEIGHTED =
  /\*\s*\(?\s*([\w.]+\.)?(size\s*\(|shape\s*\[|len\s*\(|numel|batch_size\b|bs\b|n\b|num\w*)|(size\s*\(\s*0?\s*\)|shape\s*\[\s*0\s*\]|len\s*\([^)]*\)|batch_size|\bbs)\s*\*/;
const COUNT = /\.sum\s*\(|\bsum\s*\(|\bsize\s*\(|\.shape\s*\[|\blen\s*\(|numel|\.count\b/;
const BATCH_ITER = /loader|\bdl\b|_dl\b|batches|batch_iter/i;
const ITER_WRAPPERS = /^(enumerate|tqdm|tqdm\.tqdm|iter|progress_bar|track|tqdm\.auto\.tqdm)$/;
const MEAN_CALLS = ["numpy.mean", "numpy.nanmean", "numpy.average", "statistics.mean", "statistics.fmean"];
const TO_ARRAY = /^(torch\.(stack|tensor|cat|Tensor)|numpy\.(array|asarray|stack))$/;

const MESSAGE = (name: string) =>
  `\`${name}\` collects one value per batch and is averaged over the number of batches, so every batch weighs the same: ` +
  "a smaller last batch (or uneven batches) skews the epoch metric. Accumulate the numerator and the denominator " +
  "(`correct += (pred == y).sum().item(); total += y.size(0)`, then `correct / total`), weight each batch by its size and divide by `len(loader.dataset)`, " +
  "or use a torchmetrics metric (`update()` per batch, `compute()` per epoch).";

// A running-average meter (`AverageMeter`, `AvgMeter`, `Averager`): `update(v)` with no count weighs each call once.
const METER = /(Average|Avg|Running)\w*(Meter|Tracker)$|Averager$|AverageMeter$/;
const METER_METRIC = /acc|top\d|f1|fscore|iou|dice|auc|prec|recall|psnr|ssim|score|metric/i;

const METER_MESSAGE = (call: string, meter: string) =>
  `\`${call}\` adds one value per batch with the default count of 1, so \`${meter}\` averages batch means and every batch weighs the same: ` +
  "a smaller last batch (or uneven batches) skews the epoch metric. Pass the batch size as the count " +
  `(\`${meter}.update(value, n=inputs.size(0))\`), or use a torchmetrics metric.`;

/** The data a loop iterates, without `enumerate(...)` / `tqdm(...)` around it. */
function loopData(py: PythonModel, loop: Loop): string | undefined {
  let iter = loop.iter;
  while (iter?.type === "call") {
    const fn = iter.childForFieldName("function");
    const name = fn ? (py.resolve(fn) ?? fn.text) : "";
    if (!ITER_WRAPPERS.test(name) && !ITER_WRAPPERS.test(fn?.text ?? "")) break;
    iter = iter.childForFieldName("arguments")?.namedChildren[0] ?? undefined;
  }
  return iter?.text.replace(/\s+/g, "");
}

/** The innermost loop around `at` that walks over batches of a data loader. */
function batchLoop(py: PythonModel, at: Assignment | CallSite): Loop | undefined {
  const loop = py.loopsAt(at).find((l) => l.kind === "for");
  if (!loop) return undefined;
  const data = loopData(py, loop) ?? "";
  return BATCH_ITER.test(data) || /batch/i.test(loop.target?.text ?? "") ? loop : undefined;
}

/** True for a per-batch ratio: `acc`, `batch_f1.item()`, `(p == y).float().mean()`, `correct / len(y)`. */
function isRatio(value: Node | undefined): boolean {
  if (!value) return false;
  const text = value.text;
  if (WEIGHTED.test(text)) return false;
  if (text.includes("/")) return true;
  return !COUNT.test(text) && (RATIO_VALUE.test(text) || METRIC_NAME.test(text));
}

function metricName(name: string): boolean {
  return METRIC_NAME.test(name) && !NOT_A_RATIO_NAME.test(name);
}

/** The name a sum is held in: `acc_sum`, `acc_sum.item()`, `float(acc_sum)`. */
function heldName(node: Node | null | undefined): string | undefined {
  const m = /^(?:float|int)?\(?\s*([A-Za-z_][\w.]*?)(?:\.(?:item|double|float|cpu)\(\))*\s*\)?$/.exec(
    node?.text.replace(/\s+/g, "") ?? "",
  );
  return m?.[1];
}

/** True when `divisor` counts the batches of `loop`: `len(loader)`, `(i + 1)`, a `n += 1` counter, `num_batches`. */
function countsBatches(py: PythonModel, divisor: Node, loop: Loop): boolean {
  const text = divisor.text.replace(/\s+/g, "");
  const data = loopData(py, loop);
  const len = /^len\((.+)\)$/.exec(text);
  if (len) return len[1] === data;
  const plusOne = /^\(?(\w+)\+1\)?$/.exec(text);
  const target = loop.target;
  if (plusOne && target?.type === "pattern_list" && target.namedChildren[0]?.text === plusOne[1])
    return /^enumerate\(/.test(loop.iter?.text ?? "");
  if (!/^[A-Za-z_][\w.]*$/.test(text)) return false;
  if (
    py
      .within(py.assignments, loop)
      .some((a) => a.op === "+=" && a.targets.includes(text) && a.value?.text === "1")
  )
    return true;
  return /^(n_?|num_?)?(batches|steps|iters|iterations)$|^(n|num)_?batch(es)?$/i.test(text);
}

/** What an accumulation adds: `v` in `acc += v` and in `acc = acc + v`. */
function addedTo(a: Assignment, name: string): Node | undefined {
  if (a.op === "+=") return a.value;
  const v = a.value;
  if (a.op !== "=" || v?.type !== "binary_operator" || v.childForFieldName("operator")?.text !== "+")
    return undefined;
  return v.childForFieldName("left")?.text === name ? (v.childForFieldName("right") ?? undefined) : undefined;
}

/** A per-batch ratio accumulated with `+=` in a batch loop, then divided by the number of batches. */
function sumOverBatches(py: PythonModel, left: Node, right: Node, at: Node): string | undefined {
  const name = heldName(left);
  if (!name || !metricName(name)) return undefined;
  const fn = py.functionAt(at.startIndex);
  for (const a of py.assignments) {
    if (a.start >= at.startIndex) break;
    if (!a.targets.includes(name) || py.functionAt(a) !== fn) continue;
    const added = addedTo(a, name);
    const loop = added && batchLoop(py, a);
    if (!loop || at.startIndex < loop.end) continue;
    if (isRatio(added) && countsBatches(py, right, loop)) return name;
  }
  return undefined;
}

// What a Lightning-style `*_epoch_end(outputs)` receives: one entry per batch.
const STEP_OUTPUTS = /^(self\.)?(\w+_)?(step_)?outputs$/;

/**
 * A per-batch metric gathered by a comprehension: `[x["val_acc"] for x in outputs]` in a
 * `validation_epoch_end(outputs)`, or `[acc(model(x), y) for x, y in val_loader]`.
 */
function comprehensionOverBatches(py: PythonModel, comp: Node): string | undefined {
  if (comp.type !== "list_comprehension" && comp.type !== "generator_expression") return undefined;
  const body = comp.childForFieldName("body");
  const clauses = comp.namedChildren.filter((n) => n?.type === "for_in_clause");
  const source = clauses.length === 1 ? clauses[0]!.childForFieldName("right") : undefined;
  if (!body || !source) return undefined;
  const src = source.text.replace(/\s+/g, "");
  const fn = py.functionAt(comp.startIndex);
  const perBatch =
    BATCH_ITER.test(src) || (STEP_OUTPUTS.test(src) && /epoch_end$|^on_\w+_epoch_end$/.test(fn?.name ?? ""));
  if (!perBatch) return undefined;
  // `x["val_acc"]`, `x["acc"].item()`: the key names the metric.
  const key = /\[\s*(["'])(\w+)\1\s*\]/.exec(body.text)?.[2];
  if (key) return metricName(key) && !WEIGHTED.test(body.text) ? key : undefined;
  return isRatio(body) && RATIO_VALUE.test(body.text) ? body.text : undefined;
}

/**
 * Lightning 2's pattern: a per-batch ratio appended to `self.<list>` in a `*_step` method and
 * averaged in an `on_*_epoch_end` hook (`torch.stack(self.validation_step_outputs).mean()`).
 */
function stepOutputsOverBatches(py: PythonModel, name: string, at: Node): boolean {
  if (!name.startsWith("self.") || !/epoch_end$/.test(py.functionAt(at.startIndex)?.name ?? "")) return false;
  const cls = py.classAt(at.startIndex);
  return py.methodCalls("append").some((c) => {
    if (c.receiver?.text.replace(/\s+/g, "") !== name || py.classAt(c) !== cls) return false;
    if (!/^(training|validation|test)_step$/.test(py.functionAt(c)?.name ?? "")) return false;
    const value = c.args[0];
    return value !== undefined && isRatio(value) && METRIC_NAME.test(value.text) && !/loss/i.test(value.text);
  });
}

/** A list of per-batch ratios (appended in a batch loop, or gathered by a comprehension) averaged after the loop. */
function listOverBatches(py: PythonModel, list: Node | undefined, at: Node): string | undefined {
  if (list?.type === "list_comprehension" || list?.type === "generator_expression")
    return comprehensionOverBatches(py, list);
  const name =
    list?.type === "identifier" || list?.type === "attribute" ? list.text.replace(/\s+/g, "") : undefined;
  if (name && stepOutputsOverBatches(py, name, at)) return name;
  if (!name || !metricName(name)) return undefined;
  const built = py.lastAssignment(name, at);
  if (built?.op === "=" && built.value && comprehensionOverBatches(py, built.value)) return name;
  const fn = py.functionAt(at.startIndex);
  for (const c of py.methodCalls("append")) {
    if (c.start >= at.startIndex) break;
    if (c.receiver?.text.replace(/\s+/g, "") !== name || py.functionAt(c) !== fn) continue;
    const loop = batchLoop(py, c);
    if (loop && at.startIndex >= loop.end && isRatio(c.args[0])) return name;
  }
  return undefined;
}

export default defineCheck((ctx) => {
  // Test fixtures build these patterns on purpose.
  if (isTestPath(ctx.path)) return;
  const { py } = ctx;
  // torchmetrics accumulates per sample; equal batches (`drop_last=True`, or one sample per batch)
  // make the plain mean exact.
  if (py.importsModule("torchmetrics") || /\bdrop_last\s*=\s*True\b|\bbatch_size\s*=\s*1\b/.test(ctx.text))
    return;
  // Per-batch values are gathered in a loop or a comprehension.
  if (py.loops.length === 0 && !/\bfor\b|_epoch_end\b/.test(ctx.text)) return;
  const root = py.tree.rootNode;
  const seen = new Set<number>();
  const report = (node: Node, name: string) => {
    const line = node.startPosition.row + 1;
    if (seen.has(line) || !ctx.isAdded(line)) return;
    seen.add(line);
    ctx.report(node, { message: MESSAGE(name) });
  };
  // Divisions: `acc_sum / len(loader)`, `acc_sum /= n_batches`, `sum(accs) / len(accs)`.
  for (const m of ctx.text.matchAll(/(?<!\/)\/(?!\/)/g)) {
    let node: Node | null = root.descendantForIndex(m.index);
    while (node && node.type !== "binary_operator" && node.type !== "augmented_assignment")
      node = node.parent;
    if (!node || node.childForFieldName("operator")?.startIndex !== m.index) continue;
    const left = node.childForFieldName("left");
    const right = node.childForFieldName("right");
    if (!left || !right) continue;
    let name = sumOverBatches(py, left, right, node);
    if (!name && left.type === "call" && /^sum$/.test(left.childForFieldName("function")?.text ?? "")) {
      const list = left.childForFieldName("arguments")?.namedChildren[0] ?? undefined;
      if (list && right.text.replace(/\s+/g, "") === `len(${list.text})`)
        name = listOverBatches(py, list, node);
    }
    if (name) report(node, name);
  }
  // Meters: `top1.update(acc1[0])` inside a batch loop, without the batch size as the count;
  // once per loop (`top1` and `top5` are one comment).
  const meterLoops = new Set<number>();
  for (const c of py.methodCalls("update")) {
    const meter = c.receiver;
    const value = c.args[0];
    if (c.args.length !== 1 || c.keywords.size > 0 || c.hasSplat || !meter || !value) continue;
    if (meter.type !== "identifier" && meter.type !== "attribute") continue;
    const ctor = constructorOf(py, meter, c);
    const loop = ctor && METER.test(ctor) ? batchLoop(py, c) : undefined;
    if (!loop || meterLoops.has(loop.start) || !isRatio(value)) continue;
    if (!METER_METRIC.test(meter.text) && !METER_METRIC.test(value.text)) continue;
    const line = c.line;
    if (seen.has(line) || !ctx.isAdded(line)) continue;
    seen.add(line);
    meterLoops.add(loop.start);
    ctx.report(c.node, { message: METER_MESSAGE(c.node.text.replace(/\s+/g, " "), meter.text) });
  }
  // Means: `np.mean(batch_accs)`, `statistics.mean(accs)`, `torch.tensor(accs).mean()`.
  for (const c of py.calls) {
    let list: Node | undefined;
    if (c.is(...MEAN_CALLS)) list = c.args[0];
    else if (c.method === "mean" && c.receiver?.type === "call") {
      const fn = c.receiver.childForFieldName("function");
      if (fn && TO_ARRAY.test(py.resolve(fn) ?? ""))
        list = c.receiver.childForFieldName("arguments")?.namedChildren[0] ?? undefined;
    }
    const name = listOverBatches(py, list, c.node);
    if (name) report(c.node, name);
  }
});
