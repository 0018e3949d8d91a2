import { boolValue, literal } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { isTrainingLoader, reviewableLoaders } from "./_tensors.js";

// Data that is sequential on purpose: an explicit `shuffle=False` there is a decision, not a slip.
const SEQUENTIAL_DATA =
  /time[ _-]?series|timeseries|forecast|lookback|look_back|horizon|seq(uence)?_len|window_size|\bwindow(_len(gth)?)?\s*=|(Window|Sequence)\w*Dataset|\w_series\b|n_(past|future)\b|time_?steps|n_steps_(in|out)|\bstocks?\b|sliding|lag_?\d|rolling\(|parse_dates|to_datetime|temporal|chronolog/i;
// Iterable and streaming datasets cannot be shuffled by the loader (it raises); they shuffle themselves.
const ITERABLE_DATA =
  /IterableDataset|to_iterable_dataset\(|webdataset|\bwds\.|streaming\s*=\s*True|\.shuffle\(\s*(buffer_size|seed)/;

// A comment at the loader saying the order is wanted: `shuffle=False,  # stateful RNN: keep order`.
const ORDER_COMMENT = /#[^\n]*\b(order(ed)?|sequential(ly)?|stateful|curriculum|chronolog\w*|temporal)\b/i;

export default defineCheck((ctx) => {
  const lines = ctx.text.split("\n");
  /** The loader's own lines and the one above it carry a comment that explains the order. */
  const orderExplained = (first: number, last: number) =>
    lines.slice(Math.max(0, first - 2), last).some((l) => ORDER_COMMENT.test(l));
  const loaders = reviewableLoaders(ctx);
  if (loaders.length === 0 || ITERABLE_DATA.test(ctx.text)) return;
  let sequential: boolean | undefined;
  for (const call of loaders) {
    // Positional order: dataset, batch_size, shuffle, sampler, batch_sampler.
    const shuffle = call.arg("shuffle", 2);
    const sampler = call.arg("sampler", 3);
    const batchSampler = call.arg("batch_sampler", 4);
    const given = (n: typeof sampler) => n !== undefined && literal(n)?.kind !== "none";
    if (given(sampler) || given(batchSampler)) continue;
    if (shuffle && boolValue(shuffle) !== false) continue;
    if (!isTrainingLoader(ctx.py, call)) continue;
    if (shuffle) {
      sequential ??= SEQUENTIAL_DATA.test(ctx.text);
      if (sequential || orderExplained(call.line, call.endLine)) continue;
    }
    // No suggested edit: `shuffle=True` raises for an IterableDataset defined in another file.
    ctx.report(call, {
      message: shuffle
        ? "This training DataLoader is built with `shuffle=False`, so every epoch sees the samples in the same order (often sorted by class or source), which biases the gradient steps and can stall or skew training. Use `shuffle=True`, or a sampler (`DistributedSampler`, `WeightedRandomSampler`) when you need one."
        : undefined,
    });
  }
});
