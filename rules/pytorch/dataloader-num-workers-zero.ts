import type { Node } from "web-tree-sitter";
import { numberValue } from "../../src/engine/python/helpers.js";
import type { PythonModel, Span } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import {
  asCall,
  bindingOf,
  calleeName,
  isTrainingLoader,
  positional,
  reviewableLoaders,
} from "./_tensors.js";

const TENSOR_DATASET = ["torch.utils.data.TensorDataset", "torch.utils.data.dataset.TensorDataset"];
// Wrappers whose samples are their first argument's: `random_split(ds, ...)`, `Subset(ds, idx)`.
const SAME_SAMPLES = ["torch.utils.data.Subset", "torch.utils.data.dataset.Subset"];

/**
 * True when the dataset is a `TensorDataset` (inline, bound to a name, or wrapped in a `Subset`):
 * its samples are slices of tensors already in memory, so there is nothing for workers to read or
 * augment, and worker processes only add start-up and inter-process copying.
 */
function inMemory(py: PythonModel, node: Node | undefined, at: Span, depth = 0): boolean {
  if (!node || depth > 3) return false;
  let value: Node | undefined = node;
  if (node.type === "identifier") value = bindingOf(py, node.text, at)?.value ?? undefined;
  const ctor = asCall(value);
  const name = ctor ? calleeName(py, ctor) : undefined;
  if (!ctor || !name) return false;
  if (TENSOR_DATASET.includes(name)) return true;
  return SAME_SAMPLES.includes(name) && inMemory(py, positional(ctor)[0], at, depth + 1);
}

export default defineCheck((ctx) => {
  for (const call of reviewableLoaders(ctx)) {
    // `num_workers` is DataLoader's sixth positional parameter.
    const workers = call.arg("num_workers", 5);
    // A value from config, args or os.cpu_count() is the user's decision.
    if (workers && numberValue(workers) !== 0) continue;
    if (!isTrainingLoader(ctx.py, call)) continue;
    if (inMemory(ctx.py, call.arg("dataset", 0), call)) continue;
    ctx.report(call, {
      message: workers
        ? "`num_workers=0` loads every training batch in the main process, so the training step waits while samples are read and augmented. Set `num_workers` from config (typically 4-8, or a share of `os.cpu_count()`), with `persistent_workers=True` to keep the workers between epochs."
        : undefined,
    });
  }
});
