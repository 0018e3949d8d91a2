import { defineCheck } from "../../src/engine/rule.js";
import { Calls, compileLoss, kerasModelCall, layerActivation, outputLayer } from "./_lib.js";

const CLASS_NAME: Record<string, string> = {
  categorical_crossentropy: "CategoricalCrossentropy",
  sparse_categorical_crossentropy: "SparseCategoricalCrossentropy",
  binary_crossentropy: "BinaryCrossentropy",
  categorical_focal_crossentropy: "CategoricalFocalCrossentropy",
  binary_focal_crossentropy: "BinaryFocalCrossentropy",
};

export default defineCheck((ctx) => {
  const { py } = ctx;
  const compiles = py.methodCalls("compile");
  if (compiles.length === 0) return;
  const calls = new Calls(py);
  for (const compile of compiles) {
    const model = kerasModelCall(calls, compile.receiver, compile);
    if (!model) continue;
    const loss = compileLoss(calls, compile);
    if (!loss) continue;
    const layer = outputLayer(calls, model);
    const activation = layer ? layerActivation(py, layer) : undefined;
    if (!layer || !activation) continue;
    const layerText = layer.callee.text.split(".").pop();
    let message: string | undefined;
    if (activation !== "linear" && loss.fromLogits) {
      message =
        `The output layer (\`${layerText}\`, line ${layer.line}) already applies ${activation}, but the loss is built with \`from_logits=True\`, ` +
        `so Keras applies ${activation} a second time inside the loss: the gradients are squashed and training stalls at a poor loss. ` +
        `Either drop the output activation and keep \`from_logits=True\` (apply ${activation} when predicting), or set \`from_logits=False\`.`;
    } else if (activation === "linear" && !loss.fromLogits) {
      const cls = CLASS_NAME[loss.name];
      const head = loss.name.startsWith("binary") ? 'activation="sigmoid"' : 'activation="softmax"';
      message =
        `The output layer (\`${layerText}\`, line ${layer.line}) has no activation, so the model outputs logits, but \`${loss.name}\` is used with ` +
        "`from_logits=False` (the default), which expects probabilities: Keras clips the raw scores into (0, 1) and the loss and its gradients are wrong. " +
        `Use \`keras.losses.${cls}(from_logits=True)\`, or add \`${head}\` to the output layer.`;
    }
    if (!message) continue;
    const lossLine = loss.node.startPosition.row + 1;
    const target = !ctx.isAdded(lossLine) && ctx.isAdded(layer.line) ? layer : loss.node;
    ctx.report(target, { message });
  }
});
