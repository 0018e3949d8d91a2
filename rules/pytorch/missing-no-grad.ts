import { defineCheck } from "../../src/engine/rule.js";
import { gradOffAt, holdsAtCaller, inferencePasses, objectKey } from "./_loop.js";

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (!py.calls.some((c) => c.method !== undefined)) return;
  const passes = inferencePasses(py, ctx.path);
  if (passes.length === 0) return;
  // Networks whose parameters are frozen build no graph from their weights.
  const frozen = new Set(
    py.calls
      .filter((c) => c.method === "requires_grad_" && c.args[0]?.text === "False")
      .map((c) => objectKey(c.receiver)),
  );
  for (const pass of passes) {
    const open = pass.forwards.find((f) => {
      if (frozen.has(f.key) || gradOffAt(py, f.call)) return false;
      const scope = pass.fn ?? py.functionAt(f.call);
      return !(scope && holdsAtCaller(py, scope, (site) => gradOffAt(py, site)));
    });
    if (!open) continue;
    const where = pass.kind === "function" ? `\`${pass.fn!.name}\`` : "This loop over held-out data";
    ctx.report(
      { line: pass.at.line },
      {
        message:
          `${where} calls \`${open.key}\` (line ${open.call.line}) with gradient tracking on: autograd records ` +
          "every operation and keeps the activations alive for a backward pass that never comes, which costs " +
          "memory and time (and out-of-memory errors on larger batches). Wrap the pass in `with torch.no_grad():` " +
          "or `torch.inference_mode()`, or decorate the function with `@torch.no_grad()`.",
      },
    );
  }
});
