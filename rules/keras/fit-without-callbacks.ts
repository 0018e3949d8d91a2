import { defineCheck } from "../../src/engine/rule.js";
import { Calls, fitsWithoutCallbacks } from "./_lib.js";

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (!py.methodCalls("fit").some((c) => c.keywords.has("epochs"))) return;
  const calls = new Calls(py);
  for (const run of fitsWithoutCallbacks(calls)) {
    const { fit, receiver, epochsNode, epochs, passive } = run;
    const count =
      epochs !== undefined ? `all ${epochs} epochs` : `every one of its \`${epochsNode.text}\` epochs`;
    const none =
      passive.length === 0
        ? "with no callbacks"
        : `with only ${passive.map((n) => `\`${n}\``).join(", ")} as callback${passive.length > 1 ? "s" : ""}`;
    ctx.report(fit, {
      message:
        `\`${receiver.text}.fit(...)\` runs ${count} ${none}: nothing stops training once the validation loss stops improving, ` +
        'and the weights you keep are the last epoch\'s, not the best. Pass `callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True), ' +
        'keras.callbacks.ModelCheckpoint("best.keras", monitor="val_loss", save_best_only=True)]` (with `validation_data=` or `validation_split=`).',
    });
  }
});
