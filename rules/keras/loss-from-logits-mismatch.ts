import type { PythonModel } from "../../src/engine/python/model.js";
import { defineCheck, type FixInput } from "../../src/engine/rule.js";
import {
  type Activation,
  Calls,
  compileLoss,
  kerasModelCall,
  type LossSpec,
  layerActivation,
  outputLayer,
} from "./_lib.js";

const CLASS_NAME: Record<string, string> = {
  categorical_crossentropy: "CategoricalCrossentropy",
  sparse_categorical_crossentropy: "SparseCategoricalCrossentropy",
  binary_crossentropy: "BinaryCrossentropy",
  categorical_focal_crossentropy: "CategoricalFocalCrossentropy",
  binary_focal_crossentropy: "BinaryFocalCrossentropy",
};

/** Makes the loss agree with the output layer, when that is a local edit of the loss. */
function lossFix(py: PythonModel, loss: LossSpec, activation: Activation): FixInput | undefined {
  const description =
    activation === "linear" ? "compute the loss from logits" : "compute the loss from probabilities";
  if (activation !== "linear") {
    return loss.logits ? { description, edits: [{ at: loss.logits, text: "False" }] } : undefined;
  }
  if (loss.logits) return { description, edits: [{ at: loss.logits, text: "True" }] };
  if (loss.call) {
    if (loss.call.hasSplat) return undefined;
    const items = loss.call.argsNode.namedChildren.filter((c) => c !== null && c.type !== "comment");
    const last = items[items.length - 1];
    const edit = last
      ? { at: { start: last.endIndex, end: last.endIndex }, text: ", from_logits=True" }
      : { at: loss.call.argsNode, text: "(from_logits=True)" };
    return { description, edits: [edit] };
  }
  if (loss.node.type !== "string") return undefined;
  // Spell the loss class through whatever name the file already binds Keras to.
  let prefix: string | undefined;
  for (const [local, target] of py.imports) {
    if (target === "keras") prefix = local;
    else if (target === "tensorflow" && prefix === undefined) prefix = `${local}.keras`;
  }
  if (!prefix) return undefined;
  return {
    description,
    edits: [{ at: loss.node, text: `${prefix}.losses.${CLASS_NAME[loss.name]}(from_logits=True)` }],
  };
}

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
    if (!ctx.isAdded(lossLine) && ctx.isAdded(layer.line)) {
      ctx.report(layer, { message });
      continue;
    }
    ctx.report(loss.node, { message, fix: lossFix(py, loss, activation) });
  }
});
