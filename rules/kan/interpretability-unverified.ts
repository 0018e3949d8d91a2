import type { CallSite } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { importsKan, kanModels } from "./_lib.js";

const CLAIM =
  /\binterpretab\w*|\bexplainab\w*|\bhuman[- ]readable\b|\bsymbolic(ally)? (formula|form|expression)s?\b/i;
const VERIFIES = new Set([
  "prune",
  "plot",
  "auto_symbolic",
  "symbolic_formula",
  "fix_symbolic",
  "suggest_symbolic",
  "feature_score",
  "attribute",
  "node_attribute",
  "tree",
]);

// `plt.plot(losses)` draws a loss curve, not the KAN's edges.
const CHART_RECEIVER = /^(plt|pylab|sns|ax\w*|axs\[.*\]|fig\w*|df\w*)$/;

function isChartCall(c: CallSite): boolean {
  return (
    c.is("matplotlib.**", "seaborn.**", "pandas.**", "plotly.**") ||
    CHART_RECEIVER.test(c.receiver?.text.replace(/\s+/g, "") ?? "")
  );
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (!importsKan(py) || kanModels(py).length === 0) return;
  if (py.calls.some((c) => c.method !== undefined && VERIFIES.has(c.method) && !isChartCall(c))) return;
  for (const [i, line] of ctx.lines.entries()) {
    const n = i + 1;
    if (!ctx.isAdded(n) || !CLAIM.test(line) || !isCommentOrString(line)) continue;
    ctx.report(
      { line: n, column: line.search(/\S/) + 1 },
      {
        message:
          "Interpretability is claimed here, but the file never inspects the trained KAN: no pruning, `plot()`, " +
          "`auto_symbolic()` or `symbolic_formula()`. A trained KAN is a set of arbitrary splines until that " +
          "post-hoc work is done; prune it, look at the edges and fit symbolic forms, or drop the claim.",
      },
    );
    return;
  }

  function isCommentOrString(line: string): boolean {
    const t = line.trim();
    return t.startsWith("#") || /#/.test(line) || /^[rRuUfF]?("""|'''|"|')/.test(t) || inDocstring(line);
  }

  function inDocstring(line: string): boolean {
    const idx = ctx.text.indexOf(line);
    return idx >= 0 && (ctx.text.slice(0, idx).match(/"""|'''/g)?.length ?? 0) % 2 === 1;
  }
});
