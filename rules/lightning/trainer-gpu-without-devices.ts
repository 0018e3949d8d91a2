import { stringValue } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { pinnedBelow2 } from "./_lib.js";

const TRAINERS = [
  "lightning.pytorch.Trainer",
  "lightning.pytorch.trainer.Trainer",
  "lightning.pytorch.trainer.trainer.Trainer",
];

export default defineCheck((ctx) => {
  const { py } = ctx;
  // What `devices` defaults to is a 2.x fact; 1.x projects had other defaults.
  if (pinnedBelow2(ctx.project.manifests)) return;
  for (const call of py.callsTo(...TRAINERS)) {
    const accelerator = stringValue(call.arg("accelerator"));
    if (accelerator !== "gpu" && accelerator !== "cuda") continue;
    // `gpus=` is the 1.x spelling of the same choice; `**kwargs` may carry `devices`.
    if (call.hasSplat || call.arg("devices") || call.arg("gpus")) continue;
    ctx.report(call, {
      message:
        `\`Trainer(accelerator="${accelerator}")\` without \`devices\` uses Lightning 2.x's default \`devices="auto"\`: every ` +
        "GPU the process can see, and with more than one it starts distributed (DDP) training across all of them. " +
        "The same script then trains differently from machine to machine (effective batch size, steps per epoch, " +
        "GPUs occupied). Pass `devices=` explicitly (`1`, a count, or a list of GPU ids), or read it from your config.",
    });
  }
});
