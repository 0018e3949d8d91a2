import type { Node } from "web-tree-sitter";
import { numberValue } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { importsKan, kanTrainings } from "./_lib.js";

// The entropy weight under pykan's name and the seed's: a keyword (`fit(lamb_entropy=0)`, a
// wrapper's `entropy_reg=0`), a dict entry (`{"lamb_entropy": 0.0}`) or a plain assignment.
const NAME = /^(lamb_entropy|entropy_reg)$/i;
const DICT_ENTRY = /["'](lamb_entropy|entropy_reg)["']\s*:\s*([-+]?[\d.]+(?:e[-+]?\d+)?)/g;

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (!importsKan(py)) return;
  const settings: { node: Node | { line: number }; value: number | undefined; lamb?: Node }[] = [];
  const trainingLamb = new Map<number, Node | undefined>();
  for (const { call } of kanTrainings(py)) trainingLamb.set(call.start, call.keywords.get("lamb"));
  for (const call of py.calls)
    for (const [name, node] of call.keywords)
      if (NAME.test(name))
        settings.push({
          node,
          value: numberValue(node),
          lamb: trainingLamb.get(call.start) ?? call.keywords.get("lamb"),
        });
  for (const a of py.assignments)
    if (a.op === "=" && a.value && a.targets.some((t) => NAME.test(t.replace(/^.*\./, ""))))
      settings.push({ node: a.value, value: numberValue(a.value) });
  for (const m of ctx.text.matchAll(DICT_ENTRY)) {
    const line = ctx.text.slice(0, m.index).split("\n").length;
    settings.push({ node: { line }, value: Number(m[2]) });
  }
  // Several literal entropy weights in one file: zero is one point of a sweep.
  const weights = new Set(settings.map((s) => s.value).filter((v) => v !== undefined));
  if (weights.size > 1) return;
  for (const s of settings) {
    if (s.value !== 0) continue;
    const lamb = s.lamb ? numberValue(s.lamb) : undefined;
    const message =
      s.lamb && lamb !== 0
        ? `The entropy weight is set to 0, which removes the entropy term from pykan's sparsity regulariser and ` +
          `leaves only the L1 part of \`lamb=${s.lamb.text}\`. Without it the network does not concentrate on a few ` +
          "edges, splines stay spread out and spiky, and pruning and symbolic fitting find little to simplify. Keep " +
          "the default `lamb_entropy=2.0` or another positive weight."
        : "The entropy weight is set to 0 and `lamb` (the overall regularisation weight, 0 by default) is not " +
          "switched on, so this KAN trains with no sparsity regularisation at all: splines end up spiky and spread " +
          "over every edge, and pruning or symbolic fitting find little to simplify. Pass a positive `lamb` (e.g. " +
          "`lamb=0.01`) and keep `lamb_entropy` positive (the default is 2.0).";
    ctx.report(s.node, { message });
  }
});
