import type { Node } from "web-tree-sitter";
import { localAncestry } from "../../src/engine/python/frameworks.js";
import { boolValue, closest } from "../../src/engine/python/helpers.js";
import type { CallSite, FunctionDef, PythonModel } from "../../src/engine/python/model.js";
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

const isSelfLog = (call: CallSite) =>
  (call.method === "log" || call.method === "log_dict") && call.receiver?.text === "self";

/** True when the call sits under an `if`/conditional inside `fn` (e.g. only for the training stage). */
function conditional(py: PythonModel, call: CallSite, fn: FunctionDef): boolean {
  const cond = closest(call.node, "if_statement", "conditional_expression", "match_statement");
  return (
    cond !== undefined && cond !== null && cond.startIndex >= fn.body.startIndex && py.functionAt(cond) === fn
  );
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const reported = new Set<number>();
  for (const cls of lightningModules(py)) {
    // Helpers the eval hooks call on `self`: a shared step that logs per batch, or a logging
    // helper whose `on_step` comes from its caller.
    const family = localAncestry(py, cls);
    const methods = new Map<string, FunctionDef>();
    for (const c of family) for (const m of c.methods) if (!methods.has(m.name)) methods.set(m.name, m);
    for (const hook of cls.methods) {
      if (!EVAL_STEP_HOOKS.has(hook.name)) continue;
      for (const call of py.callsIn(hook.body, { direct: true })) {
        if (call.receiver?.text !== "self" || !call.method || isSelfLog(call)) continue;
        const helper = methods.get(call.method);
        if (!helper || EVAL_STEP_HOOKS.has(helper.name) || helper === hook) continue;
        const passed = call.keywords.get("on_step");
        const params = new Set(helper.params.map((p) => p.name));
        for (const inner of py.callsIn(helper.body, { direct: true })) {
          if (!isSelfLog(inner)) continue;
          const onStep = inner.keywords.get("on_step");
          if (!onStep) continue;
          if (boolValue(passed) === true && onStep.type === "identifier" && params.has(onStep.text)) {
            if (reported.has(call.start)) break;
            reported.add(call.start);
            ctx.report(call, {
              message:
                `\`${hook.name}\` passes \`on_step=True\` to \`self.${helper.name}\`, which hands it to \`self.${inner.method}\`, ` +
                "so these validation/test metrics are recorded per batch, a noisy curve of partial results. Pass " +
                "`on_step=False, on_epoch=True` here; an epoch value is what a validation metric means.",
            });
            break;
          }
          const names = metricNames(inner.method ?? "", inner.args[0] ?? inner.keywords.get("name"));
          if (
            boolValue(onStep) === true &&
            !reported.has(inner.start) &&
            !names.some((n) => /^train/i.test(n)) &&
            !conditional(py, inner, helper)
          ) {
            reported.add(inner.start);
            ctx.report(inner, {
              message:
                `\`${helper.name}\` logs with \`on_step=True\` and \`${hook.name}\` calls it, so validation/test metrics are ` +
                "recorded per batch, a noisy curve of partial results. Log per step only for training, e.g. " +
                '`on_step=(stage == "train"), on_epoch=True`, or log the evaluation metrics in the hook itself.',
            });
          }
        }
      }
    }
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
      if (reported.has(call.start)) continue;
      reported.add(call.start);
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
