import { localAncestry } from "../../src/engine/python/frameworks.js";
import { isTestPath, stringValue } from "../../src/engine/python/helpers.js";
import type { CallSite } from "../../src/engine/python/model.js";
import { defineCheck, onTriggerLine } from "../../src/engine/rule.js";
import { lightningModules } from "./_lib.js";

const DATA_HOOKS = new Set([
  "prepare_data",
  "train_dataloader",
  "val_dataloader",
  "test_dataloader",
  "predict_dataloader",
]);

// Calls that read data from disk or a hub; building frames or tensors in memory is not loading.
const DATA_READS = [
  "pandas.read_*",
  "polars.read_*",
  "polars.scan_*",
  "numpy.load",
  "numpy.loadtxt",
  "numpy.genfromtxt",
  "numpy.fromfile",
  "datasets.load_dataset",
  "datasets.load_from_disk",
  "torchvision.datasets.*",
  "torchaudio.datasets.*",
  "torchtext.datasets.*",
  "sklearn.datasets.load_*",
  "sklearn.datasets.fetch_*",
];

// Online reinforcement learning: the module's own agent produces the batches by acting in an
// environment, so the dataloader over its replay buffer or rollouts belongs with the module.
const GENERATES_ITS_DATA =
  /\b(?:gym|gymnasium)\.make\s*\(|\bReplayBuffer\b|\breplay_?buffer\b|\b(?:self\.)?env\.step\s*\(|\.play_step\s*\(|\brollouts?\s*\(/;

function readsData(call: CallSite): boolean {
  if (call.name === "open") {
    const mode = call.arg("mode", 1);
    if (!mode) return true;
    const m = stringValue(mode);
    return m !== undefined && !/[wax+]/.test(m);
  }
  return call.is(...DATA_READS);
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  // Test modules build throwaway models that serve their own toy data.
  if (isTestPath(ctx.path)) return;
  const onTrigger = (line: number) => onTriggerLine(ctx, line);
  for (const cls of lightningModules(py)) {
    // Hooks that hand over to `self.trainer.datamodule` already keep the data elsewhere.
    const hooks = cls.methods.filter((m) => DATA_HOOKS.has(m.name) && !/\bdatamodule\b/.test(m.body.text));
    if (hooks.length > 0 && localAncestry(py, cls).some((c) => GENERATES_ITS_DATA.test(c.node.text)))
      continue;
    if (hooks.length > 0) {
      // One comment per module: on a hook this change adds when there is one.
      const at = hooks.find((h) => ctx.isAdded(h.line)) ?? hooks[0];
      ctx.report(at, {
        message:
          `\`${cls.name}\` loads its own data (${hooks.map((h) => `\`${h.name}\``).join(", ")}). Keeping downloading, ` +
          "splitting and the dataloaders in a `LightningDataModule` lets the model be reused, tested and served " +
          "without the data pipeline; pass it with `trainer.fit(model, datamodule=dm)`.",
      });
    }
    // Reads elsewhere in the module (`setup`, `__init__`, other hooks) are their own finding; the
    // data hooks are covered by the comment above.
    for (const method of cls.methods) {
      if (DATA_HOOKS.has(method.name)) continue;
      for (const call of py.callsIn(method.body, { direct: true })) {
        if (!readsData(call) || !onTrigger(call.line)) continue;
        // `self.df = pd.read_csv(...)` in `__init__` is dataset-in-module's finding.
        const parent = call.node.parent;
        if (
          method.name === "__init__" &&
          parent?.type === "assignment" &&
          /^self\./.test(parent.childForFieldName("left")?.text ?? "")
        )
          continue;
        ctx.report(call, {
          message:
            `\`${cls.name}.${method.name}\` reads data itself (\`${call.callee.text.replace(/\s+/g, "")}(...)\`). ` +
            "Keep file reading and preprocessing in a `LightningDataModule` or a dataset class the module is given, " +
            "so the model does not depend on where the data lives.",
        });
      }
    }
  }
});
