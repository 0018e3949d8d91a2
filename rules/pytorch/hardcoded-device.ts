import type { Node } from "web-tree-sitter";
import { closest, isTestPath } from "../../src/engine/python/helpers.js";
import type { FixInput } from "../../src/engine/rule.js";
import { defineCheck } from "../../src/engine/rule.js";
import { isCudaString, onTriggerLine, torchAlias } from "./_tensors.js";

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
  // One comment per file: the fix is one device choice that every placement then uses, so the
  // finding goes on the first (added) hard-coded placement and lists the lines of the others.
  type Site = { at: Node; what: string; fix?: FixInput };
  const sites: Site[] = [];
  const report = (at: Node, what: string, fix?: FixInput) => {
    if (!switched(at)) sites.push({ at, what, fix });
  };

  for (const call of py.calls) {
    if (call.method === "cuda" && call.receiver && !call.name?.startsWith("torch.cuda")) {
      // On the `.cuda` itself: a chained call may start lines earlier (`Net(\n...\n).cuda()`).
      report(call.callee.childForFieldName("attribute") ?? call.node, "`.cuda()`");
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

  if (sites.length === 0) return;
  sites.sort((a, b) => a.at.startIndex - b.at.startIndex);
  const row = (x: Site) => x.at.startPosition.row + 1;
  const site = sites.find((x) => ctx.isAdded(row(x)) && onTriggerLine(ctx, row(x)));
  if (!site) return;
  // `x, y = x.cuda(), y.cuda()` is one line to change, not two.
  const others = [...new Set(sites.map(row))].filter((l) => l !== row(site));
  const lines =
    others.length <= 5 ? others.join(", ") : `${others.slice(0, 4).join(", ")} and ${others.length - 4} more`;
  const rest =
    others.length === 0
      ? ""
      : ` (as ${others.length === 1 ? "does line" : `do ${others.length} more lines of this file:`} ${lines})`;
  ctx.report(site.at, {
    message:
      `${site.what} pins this code to CUDA with no fallback${rest}, so it fails on machines without a GPU (CI, laptops, CPU nodes). ` +
      'Pick the device once, `device = torch.device("cuda" if torch.cuda.is_available() else "cpu")`, and move tensors and models with `.to(device)`.',
    fix: site.fix,
  });
});
