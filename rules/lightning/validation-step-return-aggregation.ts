import { defineCheck } from "../../src/engine/rule.js";
import { lightningModules } from "./_lib.js";

const REMOVED: Record<string, string> = {
  training_epoch_end: "on_train_epoch_end",
  validation_epoch_end: "on_validation_epoch_end",
  test_epoch_end: "on_test_epoch_end",
};
const HOOKS = new Set(Object.values(REMOVED));

// A manifest that pins Lightning below 2.0 still has the old hooks.
const PINNED_V1 =
  /^\s*["']?(?:pytorch[-_]lightning|lightning)\s*(?:\[[^\]]*\])?\s*(?:(?:==|~=|<=?)\s*1\.|[^#\n]*<\s*2(?:\.0){0,2}\s*(?:["',;#]|$))/im;

export default defineCheck((ctx) => {
  const { py } = ctx;
  for (const text of ctx.project.manifests.values()) if (PINNED_V1.test(text)) return;
  for (const cls of lightningModules(py)) {
    for (const method of cls.methods) {
      const replacement = REMOVED[method.name];
      if (replacement) {
        ctx.report(method, {
          message:
            `\`${method.name}(self, outputs)\` was removed in Lightning 2.0: \`trainer.fit\` stops with NotImplementedError ` +
            "and the per-step returns are no longer collected. Accumulate what you need on `self` (or in a torchmetrics " +
            `metric) during the steps and compute it in \`${replacement}(self)\`, clearing the list afterwards.`,
        });
      } else if (
        HOOKS.has(method.name) &&
        method.explicitParams.length > 0 &&
        !method.explicitParams[0].default
      ) {
        const p = method.explicitParams[0].name;
        ctx.report(method, {
          message:
            `Lightning calls \`${method.name}\` with no arguments, so the \`${p}\` parameter makes it fail with a TypeError; ` +
            "the step returns are not passed to it. Keep the values on `self` (or in a torchmetrics metric) during the steps " +
            "and read them here.",
        });
      }
    }
  }
});
