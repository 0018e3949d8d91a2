import type { FunctionDef } from "../../src/engine/python/model.js";
import { defineCheck, type FixInput } from "../../src/engine/rule.js";
import { gradOffAt, handedOut, holdsAtCaller, inferencePasses, objectKey } from "./_loop.js";

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
  // A factory's closure may run inside a `no_grad` block elsewhere in the file, out of sight.
  const gradOffInFile = /\b(no_grad|inference_mode)\b|set_grad_enabled\s*\(\s*False/.test(ctx.text);
  for (const pass of passes) {
    if (gradOffInFile && pass.fn && handedOut(pass.fn)) continue;
    const open = pass.forwards.find((f) => {
      if (frozen.has(f.key) || gradOffAt(py, f.call)) return false;
      const scope = pass.fn ?? py.functionAt(f.call);
      return !(scope && holdsAtCaller(py, scope, (site) => gradOffAt(py, site)));
    });
    if (!open) continue;
    const where = pass.kind === "function" ? `\`${pass.fn!.name}\`` : "This loop over held-out data";
    const fix = pass.fn ? decoratorFix(pass.fn) : undefined;
    ctx.report(
      { line: pass.at.line },
      {
        ...(fix ? { fix } : {}),
        message:
          `${where} calls \`${open.key}\` (line ${open.call.line}) with gradient tracking on: autograd records ` +
          "every operation and keeps the activations alive for a backward pass that never comes, which costs " +
          "memory and time (and out-of-memory errors on larger batches). Wrap the pass in `with torch.no_grad():` " +
          "or `torch.inference_mode()`, or decorate the function with `@torch.no_grad()`.",
      },
    );
  }

  // Decorating a validation or test function is safe; a `predict` helper may feed code elsewhere
  // that needs gradients, so it gets no suggestion.
  function decoratorFix(fn: FunctionDef): FixInput | undefined {
    if (py.imports.get("torch") !== "torch" || fn.node.text.startsWith("async")) return undefined;
    if (!/(^|_)(validate|validation|evaluate|evaluation|eval|test|val|valid)(_|$)/i.test(fn.name))
      return undefined;
    const row = fn.node.startPosition.row;
    const at = ctx.text.split("\n", row).reduce((n, l) => n + l.length + 1, 0);
    const indent = /^\s*/.exec(ctx.lines[row] ?? "")?.[0] ?? "";
    return {
      description: "Run the pass without gradient tracking",
      edits: [{ at: { start: at, end: at }, text: `${indent}@torch.no_grad()\n` }],
    };
  }
});
