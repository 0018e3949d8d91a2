import type { Node } from "web-tree-sitter";
import { numberValue } from "../../src/engine/python/helpers.js";
import type { CallSite } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { Calls, isKerasModel } from "./_lib.js";

const OTHER_FIT_LIBRARIES = [
  "torch",
  "lightning",
  "darts",
  "skorch",
  "fastai",
  "pytorch_tabnet",
  "neuralforecast",
  "gluonts",
  "autogluon",
];
const MODEL_NAME =
  /^(?:self\.)?(?:\w+_)?(?:model|net|network|clf|classifier|regressor|autoencoder|encoder|ae|vae|gan|cnn|rnn|lstm|mlp)(?:_?\d+)?$/i;

// Below this, a run is short enough that stopping early or keeping the best epoch matters little
// (keras-io's MNIST convnet trains 15 epochs and needs neither).
const MANY_EPOCHS = 20;

// Keras callbacks that log, schedule or guard a run but neither stop it early nor keep the best weights.
const PASSIVE = [
  "TensorBoard",
  "CSVLogger",
  "ProgbarLogger",
  "History",
  "TerminateOnNaN",
  "RemoteMonitor",
  "LearningRateScheduler",
  "ReduceLROnPlateau",
];

/**
 * The names of the callbacks given when they are a list of only passive Keras callbacks (`[]`,
 * `None`, `[TensorBoard(log_dir)]`); undefined when any of them may stop the run or save the model.
 */
function passiveCallbacks(calls: Calls, node: Node, at: CallSite): string[] | undefined {
  const value = calls.valueOf(node, at) ?? node;
  if (value.type === "none") return [];
  if (value.type !== "list") return undefined;
  const names: string[] = [];
  for (const item of value.namedChildren) {
    const call = calls.of(calls.valueOf(item ?? undefined, at) ?? item);
    const last = call?.name?.split(".").pop() ?? "";
    if (!call?.imported || !call.name?.startsWith("keras.") || !PASSIVE.includes(last)) return undefined;
    names.push(last);
  }
  return names;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const fits = py.methodCalls("fit").filter((c) => c.keywords.has("epochs"));
  if (fits.length === 0) return;
  const calls = new Calls(py);
  // A model built elsewhere (`model = build_model()` from another module) in a file that uses no
  // other deep-learning library that takes `fit(..., epochs=)`.
  const kerasOnly =
    py.importsModule("keras", "tensorflow", "tf_keras") && !py.importsModule(...OTHER_FIT_LIBRARIES);
  for (const fit of fits) {
    if (fit.hasSplat) continue;
    const given = fit.keywords.get("callbacks");
    const passive = given ? passiveCallbacks(calls, given, fit) : undefined;
    if (given && passive === undefined) continue;
    const receiver = fit.receiver;
    if (!receiver || !(isKerasModel(calls, receiver, fit) || (kerasOnly && MODEL_NAME.test(receiver.text))))
      continue;
    const epochsNode = fit.keywords.get("epochs")!;
    const epochs = numberValue(calls.valueOf(epochsNode, fit));
    if (epochs !== undefined && epochs < MANY_EPOCHS) continue;
    const count =
      epochs !== undefined ? `all ${epochs} epochs` : `every one of its \`${epochsNode.text}\` epochs`;
    const none =
      passive === undefined || passive.length === 0
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
