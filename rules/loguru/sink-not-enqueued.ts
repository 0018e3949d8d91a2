import type { Node } from "web-tree-sitter";
import { boolValue } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { isFileSink, sinkAdds } from "./_lib.js";

const MULTIPROCESS_MODULES = [
  "ray",
  "multiprocessing",
  "torch.multiprocessing",
  "torch.distributed",
  "accelerate",
  "deepspeed",
  "horovod",
];
const MULTIPROCESS_CALLS = [
  "torch.nn.parallel.DistributedDataParallel",
  "lightning.pytorch.strategies.*",
  "concurrent.futures.ProcessPoolExecutor",
  "joblib.Parallel",
];
const HARMLESS = /^(torch\.)?multiprocessing\.(cpu_count|current_process|parent_process|freeze_support)$/;
// A file name that differs per process (rank, pid, worker, Ray Tune trial) is safe without a queue.
const PER_PROCESS = /rank|pid|getpid|process|worker|node_id|proc|trial|task_id/i;
const ONE_PROCESS =
  /rank|is_main|main_process|is_master|master_process|global_zero|is_primary|is_local_main/i;

export default defineCheck((ctx) => {
  const { py } = ctx;
  const adds = sinkAdds(py).filter((a) => isFileSink(py, a));
  if (adds.length === 0) return;
  const why = multiprocessEvidence();
  if (!why) return;
  for (const add of adds) {
    if (add.hasSplat || boolValue(add.keywords.get("enqueue")) === true) continue;
    if (add.keywords.has("enqueue") && boolValue(add.keywords.get("enqueue")) === undefined) continue;
    if (PER_PROCESS.test(dynamicText(add.arg("sink", 0)!))) continue;
    // Only one process adds the sink: `if rank == 0:`, `if accelerator.is_main_process:`.
    if (py.ifs.some((i) => i.start < add.start && add.end <= i.end && ONE_PROCESS.test(i.condition.text)))
      continue;
    ctx.report(add, {
      message:
        `This file sink is written without \`enqueue=True\` while the code runs in several processes (${why}); ` +
        "their writes interleave and can corrupt lines or lose rotated files. Pass `enqueue=True`, or give each " +
        "process its own file (e.g. include the rank in the name).",
    });
  }

  function multiprocessEvidence(): string | undefined {
    for (const m of MULTIPROCESS_MODULES) {
      if (!py.importsModule(m)) continue;
      // `multiprocessing` imported only to count CPUs or name the current process starts no processes.
      const uses = py.calls.filter((c) => c.is(`${m}.**`));
      if (uses.length > 0 && uses.every((c) => HARMLESS.test(c.name ?? ""))) continue;
      return `it uses \`${m}\``;
    }
    // `Parallel(prefer="threads")` / `backend="threading"` / `n_jobs=1` runs in this process (loguru is thread-safe).
    const threaded = (c: (typeof py.calls)[number]) =>
      c.is("joblib.Parallel") &&
      (/thread/.test(c.keywords.get("prefer")?.text ?? "") ||
        /thread/.test((c.keywords.get("backend") ?? c.args[1])?.text ?? "") ||
        (c.keywords.get("n_jobs") ?? c.args[0])?.text === "1");
    const call = py.calls.find((c) => c.is(...MULTIPROCESS_CALLS) && !threaded(c));
    if (call) return `\`${call.name}\``;
    const trainer = py.callsTo("lightning.pytorch.Trainer").find((t) => {
      const s = t.keywords.get("strategy")?.text ?? "";
      // `gpus=` is the Lightning 1.x spelling of `devices=`.
      const d = (t.keywords.get("devices") ?? t.keywords.get("gpus"))?.text ?? "";
      const nodes = t.keywords.get("num_nodes")?.text ?? "";
      return (
        /ddp|fsdp|deepspeed/i.test(s) ||
        /^(-1|[2-9]|\d{2,})$|\[.*,.*\]/.test(d) ||
        /^([2-9]|\d{2,})$/.test(nodes)
      );
    });
    return trainer ? "a multi-device Lightning `Trainer`" : undefined;
  }
});

/** A sink expression's text without its constant string pieces: `"preprocess.log"` names no process. */
function dynamicText(node: Node): string {
  let text = node.text;
  const pieces = node.descendantsOfType("string_content").filter((n): n is Node => !!n);
  for (const p of pieces.sort((a, b) => b.startIndex - a.startIndex)) {
    const from = p.startIndex - node.startIndex;
    text = text.slice(0, from) + text.slice(from + p.text.length);
  }
  return text;
}
