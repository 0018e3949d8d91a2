import { anyNameMatches } from "../../src/engine/names.js";
import { isTestPath, literal, statementOf } from "../../src/engine/python/helpers.js";
import type { FunctionDef, Param, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck, type FixInput } from "../../src/engine/rule.js";
import { flatHyperparameters, lightningModules, recordsHyperparameters } from "./_lib.js";

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

// `super().__init__(...)` and `super(Cls, self).__init__(...)`.
const SUPER_INIT = /^super\s*\(\s*(?:\w+\s*,\s*self\s*)?\)\s*\.\s*__init__$/;

/**
 * The call inserted on the line after `super().__init__()`, components left out as Lightning
 * asks. The edit spans from `def` so that the suggestion covers the line the comment is on.
 */
function insertAfterSuper(
  text: string,
  py: PythonModel,
  init: FunctionDef,
  components: string[],
): FixInput | undefined {
  const sup = py.callsIn(init.body, { direct: true }).find((c) => SUPER_INIT.test(c.callee.text));
  if (!sup) return undefined;
  const stmt = statementOf(sup.node);
  if (stmt.parent?.id !== init.body.id || stmt.type !== "expression_statement") return undefined;
  const lineStart = text.lastIndexOf("\n", stmt.startIndex) + 1;
  const indent = text.slice(lineStart, stmt.startIndex);
  if (!/^\s*$/.test(indent)) return undefined;
  const ignore = components.length > 0 ? `ignore=[${components.map((c) => `"${c}"`).join(", ")}]` : "";
  return {
    description: "record the __init__ arguments with save_hyperparameters()",
    edits: [
      {
        at: { start: init.start, end: stmt.endIndex },
        text: `${text.slice(init.start, stmt.endIndex)}\n${indent}self.save_hyperparameters(${ignore})`,
      },
    ],
  };
}

/** When `config/module-init-many-hparams` also asks for one config object here: the same call still applies. */
function grouped(count: number | undefined): string {
  if (count === undefined) return "";
  return (
    ` With ${count} separate hyperparameters, also consider grouping them in one config object ` +
    "(`config/module-init-many-hparams`): the same call then records that one object instead."
  );
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  for (const cls of lightningModules(py)) {
    const init = cls.method("__init__");
    if (!init) continue;
    const params = init.explicitParams;
    if (params.length === 0 || params.every((p) => isComponent(py, p))) continue;
    // Old code assigns `self.hparams` directly; it records them too, just differently.
    if (recordsHyperparameters(py, cls)) continue;
    const hparams = params.filter((p) => !isComponent(py, p)).map((p) => `\`${p.name}\``);
    const shown = hparams.slice(0, 4).join(", ") + (hparams.length > 4 ? ", ..." : "");
    ctx.report(init, {
      message:
        `\`${cls.name}.__init__\` takes arguments (${shown}) but never calls ` +
        "`self.save_hyperparameters()`, so checkpoints do not record them: `load_from_checkpoint` calls `__init__` " +
        "with only what you pass again (defaults otherwise), which fails or builds a different model, and loggers " +
        "do not show the run's settings. Call `self.save_hyperparameters()` " +
        "right after `super().__init__()` (with `ignore=[...]` for sub-modules passed in)." +
        grouped(flatHyperparameters(ctx.text, cls)?.length),
      fix: insertAfterSuper(
        ctx.text,
        py,
        init,
        params.filter((p) => isComponent(py, p)).map((p) => p.name),
      ),
    });
  }
});
