import type { Node } from "web-tree-sitter";
import { lightningDataModules, lightningModules } from "../../src/engine/python/frameworks.js";
import { boolValue } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel, Span } from "../../src/engine/python/model.js";
import type { FixInput } from "../../src/engine/rule.js";
import { defineCheck } from "../../src/engine/rule.js";
import {
  bindingOf,
  isTrainingLoader,
  onTriggerLine,
  positional,
  reviewableLoaders,
  tensorDatasetOf,
  usesCuda,
} from "./_tensors.js";

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

/** True when the file copies batches itself with `.to(..., non_blocking=True)` / `.cuda(non_blocking=True)`. */
function copiesAsynchronously(py: PythonModel): boolean {
  return py.calls.some((c) => {
    if (c.method !== "to" && c.method !== "cuda") return false;
    const nb = c.keywords.get("non_blocking");
    return nb !== undefined && boolValue(nb) !== false;
  });
}

/**
 * True when Lightning moves the batches: the file defines a LightningModule or LightningDataModule
 * or builds a Trainer, and has no manual `non_blocking` copy loop of its own.
 */
function lightningMovesBatches(py: PythonModel): boolean {
  if (!py.importsModule("lightning", "pytorch_lightning")) return false;
  if (copiesAsynchronously(py)) return false;
  return (
    lightningModules(py).length > 0 ||
    lightningDataModules(py).length > 0 ||
    py.callsTo("lightning.pytorch.Trainer", "lightning.pytorch.trainer.Trainer", "lightning.Trainer").length >
      0
  );
}

const lineList = (lines: number[]) =>
  lines.length <= 4 ? lines.join(", ") : `${lines.slice(0, 3).join(", ")} and ${lines.length - 3} more`;

export default defineCheck((ctx) => {
  const { py } = ctx;
  const loaders = reviewableLoaders(ctx);
  if (loaders.length === 0 || !usesCuda(py)) return;
  const unpinned = loaders.filter((call) => {
    // `pin_memory` is DataLoader's eighth positional parameter.
    const pin = call.arg("pin_memory", 7);
    // `pin_memory=torch.cuda.is_available()` or a config value decides at run time.
    if (pin && boolValue(pin) !== false) return false;
    return !onDevice(py, tensorDatasetOf(py, call.arg("dataset", 0), call), call);
  });
  // One comment per file: the same advice on every val/test loader is the same comment again.
  // It goes on the first training loader (the one whose throughput matters), else the first loader.
  const reportable = (c: CallSite) => ctx.isAdded(c.line) && onTriggerLine(ctx, c.line);
  const site = unpinned.find((c) => reportable(c) && isTrainingLoader(py, c)) ?? unpinned.find(reportable);
  if (!site) return;

  const pin = site.arg("pin_memory", 7);
  const last = [...site.argsNode.namedChildren].filter((c) => c && c.type !== "comment").pop();
  const fix: FixInput | undefined = pin
    ? { description: "pin host memory", edits: [{ at: pin, text: "True" }] }
    : last
      ? { description: "pin host memory", edits: [{ at: last, text: `${last.text}, pin_memory=True` }] }
      : undefined;

  const lightning = lightningMovesBatches(py);
  const what = pin ? "`pin_memory=False`" : "This DataLoader does not pin host memory";
  const why = lightning
    ? ": when the Trainer runs on a GPU, Lightning copies every batch to the device itself, and a batch in ordinary pageable memory is first copied into a page-locked staging buffer, so the transfer stalls the training step instead of running alongside it."
    : copiesAsynchronously(py)
      ? ", in a file that moves its batches to CUDA: every batch is first copied into a page-locked staging buffer, and the `non_blocking=True` copies in this file cannot overlap compute unless the batch is already pinned."
      : ", in a file that moves its batches to CUDA: every batch is first copied into a page-locked staging buffer before the transfer, and only pinned batches can be sent with `.to(device, non_blocking=True)` while the GPU keeps computing.";
  const how = lightning
    ? " Pass `pin_memory=True` (on a machine without a GPU PyTorch skips the pinning with a warning)."
    : " Pass `pin_memory=True` (or `pin_memory=torch.cuda.is_available()` when the same code also runs on CPU).";
  const others = unpinned.filter((c) => c !== site).map((c) => c.line);
  const rest =
    others.length === 0
      ? ""
      : ` ${others.length === 1 ? "One other DataLoader" : `${others.length} other DataLoaders`} in this file (line${others.length === 1 ? "" : "s"} ${lineList(others)}) ${others.length === 1 ? "leaves" : "leave"} it off too.`;
  ctx.report(site, { message: `${what}${why}${how}${rest}`, fix });
});
