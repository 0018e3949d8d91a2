import type { Node } from "web-tree-sitter";
import { closest, isTestPath } from "../../src/engine/python/helpers.js";
import type { FixInput } from "../../src/engine/rule.js";
import { defineCheck } from "../../src/engine/rule.js";
import { isCudaString, torchAlias } from "./_tensors.js";

// Anything that asks whether CUDA (or another accelerator) is there counts as a fallback.
const FALLBACK = [
  "torch.cuda.is_available",
  "torch.cuda.device_count",
  "torch.backends.mps.is_available",
  "torch.accelerator.is_available",
];
// GPU-only by design: DDP/NCCL scripts pin each process to its own GPU.
const GPU_ONLY = ["torch.cuda.set_device", "torch.distributed.init_process_group"];
// Keywords naming a device type for autocast/profilers, not where tensors live.
const NOT_PLACEMENT = new Set(["device_type", "backend"]);
const CUDA_TENSOR_TYPE = /^torch\.cuda\.(Float|Double|Half|BFloat16|Long|Int|Short|Char|Byte|Bool)Tensor$/;
// `if args.cuda: model.cuda()` and `x.cuda() if use_gpu else x` follow a switch the user sets.
const SWITCH = /cuda|gpu|device/i;

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  if (py.calls.some((c) => c.is(...FALLBACK, ...GPU_ONLY))) return;
  const torch = torchAlias(py);
  const fallback = (lit: Node): FixInput | undefined =>
    torch && isCudaString(lit)
      ? {
          description: "fall back to the CPU",
          edits: [{ at: lit, text: `${lit.text} if ${torch}.cuda.is_available() else "cpu"` }],
        }
      : undefined;
  const switched = (at: Node): boolean => {
    const cond = closest(at, "conditional_expression");
    if (cond && SWITCH.test(cond.namedChildren[1]?.text ?? "")) return true;
    return py.ifs.some(
      (i) => i.start <= at.startIndex && at.endIndex <= i.end && SWITCH.test(i.condition.text),
    );
  };
  // One comment per line: `x, y = x.cuda(), y.cuda()` is one thing to change, not two.
  const reportedLines = new Set<number>();
  const report = (at: Node, what: string, fix?: FixInput, more = 0) => {
    if (switched(at) || reportedLines.has(at.startPosition.row)) return;
    reportedLines.add(at.startPosition.row);
    const rest =
      more > 0 ? ` (so do the \`.cuda()\` calls on ${more} more line${more === 1 ? "" : "s"} here)` : "";
    ctx.report(at, {
      message:
        `${what} pins this code to CUDA with no fallback${rest}, so it fails on machines without a GPU (CI, laptops, CPU nodes). ` +
        'Pick the device once, `device = torch.device("cuda" if torch.cuda.is_available() else "cpu")`, and move tensors and models with `.to(device)`.',
      fix,
    });
  };

  // `.cuda()` is sprinkled on every tensor of a GPU-only script: one comment per function (or for
  // the module level), on the first unswitched call, counting the others.
  const cudaCalls = new Map<unknown, Node[]>();
  for (const call of py.calls) {
    if (call.method === "cuda" && call.receiver && !call.name?.startsWith("torch.cuda")) {
      // On the `.cuda` itself: a chained call may start lines earlier (`Net(\n...\n).cuda()`).
      const at = call.callee.childForFieldName("attribute") ?? call.node;
      if (switched(at)) continue;
      const scope = py.functionAt(call) ?? null;
      const list = cudaCalls.get(scope) ?? [];
      list.push(at);
      cudaCalls.set(scope, list);
      continue;
    }
    if (call.is("torch.autocast", "torch.amp.**", "torch.cuda.amp.**")) continue;
    // The legacy typed constructors allocate on the GPU: `torch.cuda.FloatTensor(counts)`.
    if (call.name && CUDA_TENSOR_TYPE.test(call.name)) {
      report(call.callee, `\`${call.callee.text}(...)\``);
      continue;
    }
    if (call.is("torch.device", "torch.set_default_device") || call.method === "to") {
      const first = call.args[0];
      if (first?.type === "string" && isCudaString(first)) {
        report(
          first,
          call.method === "to" ? `\`.to(${first.text})\`` : `\`${call.callee.text}(${first.text})\``,
          fallback(first),
        );
        continue;
      }
    }
    for (const [k, v] of call.keywords) {
      if (NOT_PLACEMENT.has(k) || !isCudaString(v)) continue;
      // Command-line defaults can be overridden by whoever runs the script.
      if (call.method === "add_argument" || call.method === "Option" || call.method === "Argument") continue;
      report(v, `\`${k}=${v.text}\``, fallback(v));
    }
  }
  for (const sites of cudaCalls.values()) {
    const lines = new Set(sites.map((n) => n.startPosition.row));
    const first = sites.find((n) => ctx.isAdded(n.startPosition.row + 1)) ?? sites[0];
    report(first, "`.cuda()`", undefined, lines.size - 1);
  }
  // `def __init__(self, device="cuda")`: callers that pass nothing get CUDA, with no fallback.
  for (const fn of py.functions) {
    // CLI commands (Typer, Click, Hydra) take the default from whoever runs them.
    if (fn.decorators.some((d) => /(command|option|argument|\.main)$/.test(d))) continue;
    for (const p of fn.params) {
      if (p.default && /device/i.test(p.name) && isCudaString(p.default)) {
        report(p.default, `The default \`${p.name}=${p.default.text}\``, fallback(p.default));
      }
    }
  }
  for (const a of py.assignments) {
    if (a.op !== "=" || a.targets.length !== 1 || !/device/i.test(a.targets[0])) continue;
    const v = a.value;
    if (v?.type === "string" && isCudaString(v)) report(v, `\`${a.targets[0]} = ${v.text}\``, fallback(v));
  }
});
