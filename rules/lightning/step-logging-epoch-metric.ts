import type { Node } from "web-tree-sitter";
import { boolValue } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { EVAL_STEP_HOOKS, lightningModules } from "./_lib.js";

const EVAL_NAME = /^(?:val|valid|validation|test|eval)(?:[_/\-. ]|$)/i;

/** The literal start of a metric name: the whole string, or an f-string's text before `{`. */
function namePrefix(node: Node | undefined): string | undefined {
  if (node?.type !== "string") return undefined;
  const m = /^[rRbBuUfF]{0,2}(['"]{3}|['"])/.exec(node.text);
  if (!m) return undefined;
  const body = node.text.slice(m[0].length, node.text.length - m[1].length);
  const brace = body.indexOf("{");
  return brace < 0 ? body : body.slice(0, brace);
}

/** Metric names logged by a call: the first argument of `log`, the literal keys of `log_dict`. */
function metricNames(method: string, first: Node | undefined): string[] {
  if (!first) return [];
  if (method === "log") {
    const p = namePrefix(first);
    return p === undefined ? [] : [p];
  }
  if (first.type !== "dictionary") return [];
  const out: string[] = [];
  for (const pair of first.namedChildren) {
    if (pair?.type !== "pair") continue;
    const p = namePrefix(pair.childForFieldName("key") ?? undefined);
    if (p !== undefined) out.push(p);
  }
  return out;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  for (const cls of lightningModules(py)) {
    for (const call of py.callsIn(cls)) {
      if ((call.method !== "log" && call.method !== "log_dict") || call.receiver?.text !== "self") continue;
      const onStep = call.keywords.get("on_step");
      if (boolValue(onStep) !== true) continue;
      const fn = py.functionAt(call);
      const hook = fn && EVAL_STEP_HOOKS.has(fn.name) ? fn.name : undefined;
      const evalName = metricNames(call.method, call.args[0] ?? call.keywords.get("name")).find((n) =>
        EVAL_NAME.test(n),
      );
      if (!hook && !evalName) continue;
      const where = hook ? `inside \`${hook}\`` : `for \`${evalName}\``;
      const onEpoch = boolValue(call.keywords.get("on_epoch"));
      // In eval hooks `on_epoch` defaults to True, so turning `on_step` off is enough.
      const fix =
        onStep && (onEpoch === true || (hook !== undefined && onEpoch === undefined))
          ? { description: "log once per epoch", edits: [{ at: onStep, text: "False" }] }
          : undefined;
      ctx.report(call, {
        message:
          `\`on_step=True\` ${where} records one point per batch, but a validation/test metric only means something ` +
          "over the whole epoch, and the per-batch values plot as a noisy, misleading curve. Use " +
          "`on_step=False, on_epoch=True` (the default in `validation_step`/`test_step`) or a torchmetrics object.",
        fix,
      });
    }
  }
});
