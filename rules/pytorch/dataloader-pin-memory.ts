import type { Node } from "web-tree-sitter";
import { boolValue } from "../../src/engine/python/helpers.js";
import type { PythonModel, Span } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { bindingOf, positional, reviewableLoaders, tensorDatasetOf, usesCuda } from "./_tensors.js";

// Tensors already moved to the GPU: pinning them raises ("only dense CPU tensors can be pinned").
const ON_DEVICE = /\.to\s*\(|\.cuda\s*\(|\bdevice\s*=/;

/** True when a `TensorDataset(...)` is built from tensors on the GPU, inline or through their names. */
function onDevice(py: PythonModel, ctor: Node | undefined, at: Span): boolean {
  if (!ctor) return false;
  if (ON_DEVICE.test(ctor.text)) return true;
  return positional(ctor).some(
    (a) => a.type === "identifier" && ON_DEVICE.test(bindingOf(py, a.text, at)?.value?.text ?? ""),
  );
}

export default defineCheck((ctx) => {
  const loaders = reviewableLoaders(ctx);
  if (loaders.length === 0 || !usesCuda(ctx.py)) return;
  for (const call of loaders) {
    // `pin_memory` is DataLoader's eighth positional parameter.
    const pin = call.arg("pin_memory", 7);
    // `pin_memory=torch.cuda.is_available()` or a config value decides at run time.
    if (pin && boolValue(pin) !== false) continue;
    if (onDevice(ctx.py, tensorDatasetOf(ctx.py, call.arg("dataset", 0), call), call)) continue;
    const last = [...call.argsNode.namedChildren].filter((c) => c && c.type !== "comment").pop();
    const fix = pin
      ? { description: "pin host memory", edits: [{ at: pin, text: "True" }] }
      : last
        ? { description: "pin host memory", edits: [{ at: last, text: `${last.text}, pin_memory=True` }] }
        : undefined;
    ctx.report(call, {
      message: pin
        ? "`pin_memory=False` in a file that trains on CUDA: every batch is copied into a page-locked staging buffer before it can go to the GPU, and `.to(device, non_blocking=True)` cannot overlap the copy with compute. Use `pin_memory=True` (or `pin_memory=torch.cuda.is_available()`)."
        : undefined,
      fix,
    });
  }
});
