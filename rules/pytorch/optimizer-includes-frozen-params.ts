import type { Node } from "web-tree-sitter";
import type { CallSite } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { type Chain, covers, gradToggles, isOptimizerClass, moduleChain, walksModules } from "./_loop.js";

export default defineCheck((ctx) => {
  const { py } = ctx;
  const optimizers = py.calls.filter((c) => isOptimizerClass(c.name));
  if (optimizers.length === 0) return;
  const toggles = gradToggles(py);
  if (!toggles.some((t) => t.frozen)) return;

  for (const opt of optimizers) {
    const params = opt.arg("params", 0);
    if (!params) continue;
    const source = paramSource(params, opt);
    if (!source) continue;
    const optChain = moduleChain(py, source.module, opt);
    if (!optChain) continue;
    // `model = nn.Sequential(backbone, head)`: the model holds the modules it was built from.
    const parts = partsOf(source.module, opt);
    const related = toggles.filter((t) =>
      t.chains.some((c) => covers(optChain, c) || parts.some((p) => covers(p, c))),
    );
    const freezes = related.filter((t) => t.frozen);
    if (freezes.length === 0) continue;
    const later = related.filter((t) => t.at.start > opt.end);
    // Unfreezing later (or freezing in stages inside a loop) needs every parameter in the optimiser.
    if (later.some((t) => !t.frozen || py.loopsAt(t.at).some((l) => l.start > opt.end && !walksModules(l))))
      continue;
    const name = source.module.text.replace(/\s+/g, "");
    const after = freezes.filter((t) => t.at.start > opt.end && py.functionAt(t.at) === py.functionAt(opt));
    if (!source.filtered && after.length > 0 && after.length === freezes.length) {
      // Every freeze comes after the optimiser: the freeze is the line out of order.
      for (const t of after) {
        ctx.report(t.at, {
          message:
            `This freeze runs after the optimiser on line ${opt.line} was built from every parameter of \`${name}\`, ` +
            "so the optimiser still holds the frozen ones and keeps applying weight decay and momentum to any that " +
            "hold a gradient. Freeze first, then build the optimiser from the trainable parameters only: " +
            `\`filter(lambda p: p.requires_grad, ${name}.parameters())\`.`,
        });
      }
    } else if (!source.filtered) {
      const first = freezes[0];
      const fixable = freezes.every((t) => t.at.end <= opt.start) && params === source.call;
      ctx.report(opt, {
        message:
          `This optimiser gets every parameter of \`${name}\`, including the ones frozen on line ${first.at.line}. ` +
          "PyTorch skips a parameter only while its `.grad` is None: one still holding a gradient from before the " +
          "freeze (or zeros from `zero_grad(set_to_none=False)`) keeps receiving weight decay and momentum updates. " +
          `Pass only trainable parameters: \`filter(lambda p: p.requires_grad, ${name}.parameters())\`.`,
        ...(fixable
          ? {
              fix: {
                description: "Give the optimiser only the trainable parameters",
                edits: [{ at: params, text: `filter(lambda p: p.requires_grad, ${params.text})` }],
              },
            }
          : {}),
      });
    } else {
      for (const t of later) {
        if (!t.frozen || py.functionAt(t.at) !== py.functionAt(opt)) continue;
        ctx.report(t.at, {
          message:
            `This freeze runs after the optimiser on line ${opt.line} was built from \`${name}\`'s trainable ` +
            "parameters, so the filter already let these parameters in and the optimiser still holds them. " +
            "Freeze first, then build the optimiser.",
        });
      }
    }
  }

  /** Module chains passed to the call that built a plain variable (`model = Wrapper(backbone, head)`). */
  function partsOf(module: Node, opt: CallSite): Chain[] {
    if (module.type !== "identifier") return [];
    const a = py.lastAssignment(module.text, opt);
    const value = a?.op === "=" && a.targets.length === 1 ? a.value : undefined;
    if (value?.type !== "call") return [];
    const args = value.childForFieldName("arguments")?.namedChildren ?? [];
    return args
      .filter((n): n is Node => n !== null && (n.type === "identifier" || n.type === "attribute"))
      .map((n) => moduleChain(py, n, opt))
      .filter((c): c is Chain => c !== undefined);
  }

  /** What an optimiser's params argument draws from: `X.parameters()` directly, through a name, or filtered. */
  function paramSource(
    params: Node,
    opt: CallSite,
  ): { module: Node; filtered: boolean; call: Node } | undefined {
    let expr: Node | undefined = params;
    if (expr.type === "identifier") {
      const a = py.lastAssignment(expr.text, opt);
      expr = a?.op === "=" && a.targets.length === 1 ? a.value : undefined;
      if (!expr) return undefined;
    }
    const direct = walkCall(expr) ?? (isListOf(expr) ? walkCall(firstArg(expr)) : undefined);
    if (direct) return { module: direct, filtered: false, call: expr };
    // `filter(lambda p: p.requires_grad, X.parameters())`, `[p for p in X.parameters() if p.requires_grad]`.
    if (/requires_grad/.test(expr.text)) {
      const inner = py.calls.find(
        (c) =>
          c.start >= expr.startIndex &&
          c.end <= expr.endIndex &&
          c.method === "parameters" &&
          c.args.length === 0,
      );
      if (inner?.receiver) return { module: inner.receiver, filtered: true, call: expr };
    }
    return undefined;
  }

  function walkCall(expr: Node | undefined | null): Node | undefined {
    if (expr?.type !== "call") return undefined;
    const f = expr.childForFieldName("function");
    const args = expr.childForFieldName("arguments");
    if (f?.type !== "attribute" || f.childForFieldName("attribute")?.text !== "parameters") return undefined;
    if (args?.namedChildren.length) return undefined;
    return f.childForFieldName("object") ?? undefined;
  }

  function isListOf(expr: Node): boolean {
    return expr.type === "call" && expr.childForFieldName("function")?.text === "list";
  }

  function firstArg(expr: Node): Node | undefined {
    return expr.childForFieldName("arguments")?.namedChildren[0] ?? undefined;
  }
});
