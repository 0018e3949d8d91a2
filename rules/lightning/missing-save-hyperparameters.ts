import { anyNameMatches } from "../../src/engine/names.js";
import { isTestPath, literal } from "../../src/engine/python/helpers.js";
import type { Param, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { lightningModules, savesHyperparameters } from "./_lib.js";

// Arguments that are sub-networks or callables rather than hyperparameters. Lightning itself asks
// for these to be left out of `save_hyperparameters` (`ignore=[...]`), so a module taking only
// such arguments has nothing worth recording.
const MODULE_PARAM =
  /^(?:model|net|network|backbone|encoder|decoder|head|module|criterion|loss_fn|loss_func|teacher|student|generator|discriminator|tokenizer|metrics?)$/i;
const MODULE_TYPES = [
  "torch.nn.Module",
  "torch.nn.*",
  "transformers.*",
  "timm.*",
  "Callable",
  "typing.Callable",
];

function isComponent(py: PythonModel, p: Param): boolean {
  // `backbone: str = "resnet50"` names a component: that is a hyperparameter.
  if (literal(p.default) !== undefined && literal(p.default)?.kind !== "none") return false;
  if (p.annotation && /^(?:str|int|float|bool)$/.test(p.annotation.text)) return false;
  if (MODULE_PARAM.test(p.name)) return true;
  const type = p.annotation ? py.resolve(p.annotation.text.replace(/^Optional\[(.*)\]$/, "$1")) : undefined;
  return type !== undefined && anyNameMatches(type, MODULE_TYPES);
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  for (const cls of lightningModules(py)) {
    const init = cls.method("__init__");
    if (!init) continue;
    const params = init.explicitParams;
    if (params.length === 0 || params.every((p) => isComponent(py, p))) continue;
    if (savesHyperparameters(py, cls)) continue;
    // Old code assigns `self.hparams` directly; it records them too, just differently.
    if (py.assignmentsIn(init.body).some((a) => a.targets.some((t) => /^self\.hparams\b/.test(t)))) continue;
    const names = params
      .filter((p) => !isComponent(py, p))
      .map((p) => `\`${p.name}\``)
      .slice(0, 4)
      .join(", ");
    ctx.report(init, {
      message:
        `\`${cls.name}.__init__\` takes arguments (${names}${params.length > 4 ? ", ..." : ""}) but never calls ` +
        "`self.save_hyperparameters()`, so checkpoints do not record them: `load_from_checkpoint` calls `__init__` " +
        "with only what you pass again (defaults otherwise), which fails or builds a different model, and loggers " +
        "do not show the run's settings. Call `self.save_hyperparameters()` " +
        "right after `super().__init__()` (with `ignore=[...]` for sub-modules passed in).",
    });
  }
});
