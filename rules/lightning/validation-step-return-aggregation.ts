import { localAncestry, localDescendants } from "../../src/engine/python/frameworks.js";
import type { ClassDef, FunctionDef, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { lightningModules, pinnedBelow2 } from "./_lib.js";

const REMOVED: Record<string, string> = {
  training_epoch_end: "on_train_epoch_end",
  validation_epoch_end: "on_validation_epoch_end",
  test_epoch_end: "on_test_epoch_end",
};
const HOOKS = new Set(Object.values(REMOVED));
// The `*_step_end` hooks received each step's return (for DataParallel) and went with it in 2.0.
const REMOVED_STEP_END: Record<string, string> = {
  training_step_end: "on_train_batch_end",
  validation_step_end: "on_validation_batch_end",
  test_step_end: "on_test_batch_end",
};

/** `pass`, `...`, a docstring or `return outputs`: a leftover override that does nothing. */
function emptyHook(method: FunctionDef): boolean {
  const params = new Set(method.explicitParams.map((p) => p.name));
  return method.body.namedChildren.every((st) => {
    if (!st) return true;
    if (st.type === "pass_statement" || st.type === "comment") return true;
    if (st.type === "expression_statement") {
      const e = st.namedChildren[0];
      return e?.type === "string" || e?.type === "ellipsis";
    }
    if (st.type === "return_statement") {
      const v = st.namedChildren[0];
      return !v || (v.type === "identifier" && params.has(v.text));
    }
    return false;
  });
}

/**
 * A list attribute an epoch-end hook reads that nothing in the class family ever fills: set to
 * `[]` in `__init__` and never appended to, as if Lightning still collected the step returns.
 */
function unfilledList(
  py: PythonModel,
  cls: ClassDef,
  hook: FunctionDef,
): { name: string; offset: number } | undefined {
  const empty = new Set<string>();
  for (const c of [...localAncestry(py, cls), ...localDescendants(py, cls)]) {
    const init = c.method("__init__");
    if (!init) continue;
    for (const a of py.assignmentsIn(init.body)) {
      const m = /^self\.(\w+)$/.exec(a.targets.length === 1 ? a.targets[0] : "");
      const v = a.value?.text.replace(/\s+/g, "");
      if (m && (v === "[]" || v === "list()")) empty.add(m[1]);
    }
  }
  if (empty.size === 0) return undefined;
  const body = hook.body.text;
  const elsewhere = py.text.slice(0, hook.body.startIndex) + py.text.slice(hook.body.endIndex);
  for (const m of body.matchAll(/\bself\.(\w+)\b/g)) {
    const name = m[1];
    if (!empty.has(name)) continue;
    // Filled anywhere else in the file (also by a callback through `pl_module.`), or aliased or
    // handed to a helper that may fill it: not this mistake.
    const filled = new RegExp(
      `\\.${name}\\s*(?:\\.\\s*(?:append|extend|insert)\\s*\\(|\\+=|\\[[^\\]]*\\]\\s*=(?!=)|=(?!=)(?!\\s*(?:\\[\\s*\\]|list\\(\\s*\\))))|=\\s*self\\.${name}\\b(?!\\s*\\.)|\\(\\s*self\\.${name}\\s*[,)]`,
    ).test(elsewhere);
    if (!filled) return { name, offset: hook.body.startIndex + (m.index ?? 0) };
  }
  return undefined;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  // A project pinned below 2.0 still has the old hooks.
  if (pinnedBelow2(ctx.project.manifests)) return;
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
      } else if (REMOVED_STEP_END[method.name] && !emptyHook(method)) {
        const step = method.name.replace(/_end$/, "");
        ctx.report(method, {
          message:
            `\`${method.name}\` was removed in Lightning 2.0 (with DataParallel, which it served): a 2.x trainer does not ` +
            `run it, so what it does with the return of \`${step}\` is lost. Do that work in \`${step}\` itself, or in ` +
            `\`${REMOVED_STEP_END[method.name]}(self, outputs, batch, batch_idx)\`, which receives the step's return.`,
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
      } else if (HOOKS.has(method.name)) {
        const unfilled = unfilledList(py, cls, method);
        if (!unfilled) continue;
        const line = ctx.text.slice(0, unfilled.offset).split("\n").length;
        ctx.report(
          { line },
          {
            message:
              `\`self.${unfilled.name}\` is read in \`${method.name}\` but nothing ever appends to it: Lightning 2.x does ` +
              "not collect what the step methods return, so the list stays empty. Append the values in the step " +
              `(\`self.${unfilled.name}.append(loss)\`) and clear the list at the end of this hook.`,
          },
        );
      }
    }
  }
});
