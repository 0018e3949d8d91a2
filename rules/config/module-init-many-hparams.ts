import { lightningModules } from "../../src/engine/python/frameworks.js";
import { literal } from "../../src/engine/python/helpers.js";
import type { Param } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";

const LIMIT = 6;
// Arguments that carry objects (sub-networks, losses, tokenizers) or a config, not hyperparameters.
const OBJECT_NAME =
  /^(model|net|network|backbone|encoder|decoder|head|module|loss|loss_fn|criterion|tokenizer|metrics?|vocab|data|dataset|datamodule|transforms?|config|cfg|conf|hparams|hp|args|params|callbacks?)$|_(fn|cls|class|model|net|module|factory|config|cfg)$/i;
const VALUE_TYPES = new Set([
  "int",
  "float",
  "bool",
  "str",
  "None",
  "Optional",
  "Union",
  "Literal",
  "List",
  "list",
  "Tuple",
  "tuple",
  "Sequence",
  "typing.Optional",
  "typing.Union",
  "typing.Literal",
  "typing.List",
  "typing.Tuple",
  "typing.Sequence",
  "...",
]);

/** True for annotations built only from plain value types (`float`, `Optional[int]`, `Literal["a", "b"]`). */
function isValueType(annotation: string): boolean {
  const tokens = annotation
    .split(/[[\],|]/)
    .map((t) => t.trim())
    .filter(Boolean);
  // Quoted text is a Literal's value, or else a forward reference to a class.
  const literalArgs = /\bLiteral\[/.test(annotation);
  return tokens.every(
    (t) => VALUE_TYPES.has(t) || (literalArgs && /^(["'].*["']|-?[\d.]+|True|False)$/.test(t)),
  );
}

function isHyperparameter(p: Param): boolean {
  if (p.annotation) return isValueType(p.annotation.text);
  if (OBJECT_NAME.test(p.name)) return false;
  return !p.default || literal(p.default) !== undefined || p.default.type === "identifier";
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const modules = lightningModules(py);
  if (modules.length === 0) return;
  // LightningCLI builds its command line from the `__init__` signature: separate arguments are its contract.
  if (/\bLightningCLI\b/.test(ctx.text)) return;
  for (const cls of modules) {
    const init = cls.method("__init__");
    if (!init) continue;
    const hparams = init.explicitParams.filter((p) => isHyperparameter(p));
    if (hparams.length <= LIMIT) continue;
    const shown = hparams.slice(0, 8).map((p) => `\`${p.name}\``);
    ctx.report(init.node.childForFieldName("parameters") ?? init, {
      message:
        `\`${cls.name}.__init__\` takes ${hparams.length} hyperparameters one by one (${shown.join(", ")}` +
        `${hparams.length > 8 ? ", ..." : ""}). Every new setting then touches the signature, every call site and ` +
        "the config loader, and the YAML and the signature drift apart. Group them in one typed config object (a " +
        "dataclass or Pydantic model per section) passed as a single argument, and build it from the YAML.",
    });
  }
});
