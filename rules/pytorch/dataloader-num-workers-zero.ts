import { numberValue } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { feedsBackwardLoop, isTrainingLoader, reviewableLoaders, tensorDatasetOf } from "./_tensors.js";

export default defineCheck((ctx) => {
  for (const call of reviewableLoaders(ctx)) {
    // `num_workers` is DataLoader's sixth positional parameter.
    const workers = call.arg("num_workers", 5);
    // A value from config, args or os.cpu_count() is the user's decision.
    if (workers && numberValue(workers) !== 0) continue;
    // Training by name, shuffling or dataset, or by use: a loop over it calls `backward()`.
    if (!isTrainingLoader(ctx.py, call) && !feedsBackwardLoop(ctx.py, call)) continue;
    // A `TensorDataset` holds its samples in memory: nothing for workers to read or augment, and
    // worker processes only add start-up and inter-process copying.
    if (tensorDatasetOf(ctx.py, call.arg("dataset", 0), call)) continue;
    ctx.report(call, {
      message: workers
        ? "`num_workers=0` loads every training batch in the main process, so the training step waits while samples are read and augmented. Set `num_workers` from config (typically 4-8, or a share of `os.cpu_count()`), with `persistent_workers=True` to keep the workers between epochs."
        : undefined,
    });
  }
});
