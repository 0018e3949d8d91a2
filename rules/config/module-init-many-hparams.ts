import { lightningModules } from "../../src/engine/python/frameworks.js";
import { defineCheck } from "../../src/engine/rule.js";
import { flatHyperparameters, recordsHyperparameters } from "../lightning/_lib.js";

export default defineCheck((ctx) => {
  const { py } = ctx;
  const modules = lightningModules(py);
  if (modules.length === 0) return;
  for (const cls of modules) {
    const init = cls.method("__init__");
    // LightningCLI files have none: the CLI builds its command line from the separate arguments.
    const hparams = init ? flatHyperparameters(ctx.text, cls) : undefined;
    if (!init || !hparams) continue;
    const shown = hparams.slice(0, 8).map((p) => `\`${p.name}\``);
    // `lightning/missing-save-hyperparameters` asks for the call on the same `__init__`: one plan, not two.
    const record = recordsHyperparameters(py, cls)
      ? " Keep `self.save_hyperparameters()`: it then records the one config object instead of the separate arguments."
      : " Then call `self.save_hyperparameters()` right after `super().__init__()` (this module does not yet): it " +
        "records that one object in every checkpoint and logger, so `load_from_checkpoint` can rebuild the module.";
    ctx.report(init.node.childForFieldName("parameters") ?? init, {
      message:
        `\`${cls.name}.__init__\` takes ${hparams.length} hyperparameters one by one (${shown.join(", ")}` +
        `${hparams.length > 8 ? ", ..." : ""}). Every new setting then touches the signature, every call site and ` +
        "the config loader, and the YAML and the signature drift apart. Group them in one typed config object (a " +
        "dataclass or Pydantic model per section) passed as a single argument, and build it from the YAML." +
        record +
        " (Such an object is pickled into the checkpoint: loading with `weights_only=True` needs its class " +
        "allow-listed with `torch.serialization.add_safe_globals`.)",
    });
  }
});
