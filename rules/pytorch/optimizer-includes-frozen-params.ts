import type { Node } from "web-tree-sitter";
import { boolValue, dotted } from "../../src/engine/python/helpers.js";
import type { CallSite, Span } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { isOptimizerClass, localCallee } from "./_loop.js";

/** A module path in one namespace: a plain chain (`model.backbone`), or one under `self` of a class. */
interface Chain {
  segs: string[];
  cls?: string;
}

interface Toggle {
  at: Span;
  frozen: boolean;
  chains: Chain[];
}

const MODULE_WALKS = new Set([
  "parameters",
  "named_parameters",
  "children",
  "named_children",
  "modules",
  "named_modules",
]);

export default defineCheck((ctx) => {
  const { py } = ctx;
  const optimizers = py.calls.filter((c) => isOptimizerClass(c.name));
  if (optimizers.length === 0) return;
  const toggles = collectToggles();
  if (!toggles.some((t) => t.frozen)) return;

  for (const opt of optimizers) {
    const params = opt.arg("params", 0);
    if (!params) continue;
    const source = paramSource(params, opt);
    if (!source) continue;
    const optChain = chainOf(source.module, opt);
    if (!optChain) continue;
    const related = toggles.filter((t) => t.chains.some((c) => covers(optChain, c)));
    const freezes = related.filter((t) => t.frozen);
    if (freezes.length === 0) continue;
    const later = related.filter((t) => t.at.start > opt.end);
    // Unfreezing later (or freezing in stages inside a loop) needs every parameter in the optimiser.
    if (later.some((t) => !t.frozen || py.loopsAt(t.at).some((l) => l.start > opt.end))) continue;
    const name = source.module.text.replace(/\s+/g, "");
    if (!source.filtered) {
      const first = freezes[0];
      const fixable = freezes.every((t) => t.at.end <= opt.start) && params === source.call;
      ctx.report(opt, {
        message:
          `This optimiser gets every parameter of \`${name}\`, including the ones frozen on line ${first.at.line}. ` +
          "PyTorch skips a parameter only while its `.grad` is None, so a gradient left over from before the freeze " +
          "still gets weight decay and momentum applied, and wrappers that allocate state up front (ZeRO, FSDP, " +
          `fused optimisers) spend memory on it. Pass only trainable parameters: \`filter(lambda p: p.requires_grad, ${name}.parameters())\`.`,
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

  function collectToggles(): Toggle[] {
    const out: Toggle[] = [];
    for (const a of py.assignments) {
      if (a.op !== "=") continue;
      const v = boolValue(a.value);
      if (v === undefined) continue;
      for (const t of a.targets) {
        if (!t.endsWith(".requires_grad")) continue;
        out.push({ at: a, frozen: !v, chains: chainsOfText(t.slice(0, -".requires_grad".length), a) });
      }
    }
    for (const c of py.methodCalls("requires_grad_")) {
      const arg = c.arg("requires_grad", 0);
      const v = arg ? boolValue(arg) : true;
      if (v === undefined || !c.receiver) continue;
      out.push({ at: c, frozen: !v, chains: chainsOf(c.receiver, c) });
    }
    return out.filter((t) => t.chains.length > 0);
  }

  function chainsOfText(text: string, at: Span): Chain[] {
    const chain = chainFromText(text, at);
    return chain ? resolveLoopVar(chain, at, 0) : [];
  }

  function chainsOf(node: Node, at: Span): Chain[] {
    const chain = chainOf(node, at);
    return chain ? resolveLoopVar(chain, at, 0) : [];
  }

  /** `p` in `for p in model.backbone.parameters()` stands for (parameters of) `model.backbone`. */
  function resolveLoopVar(chain: Chain, at: Span, depth: number): Chain[] {
    if (chain.cls || depth > 3) return [chain];
    const root = chain.segs[0];
    for (const loop of py.loopsAt(at)) {
      const target = loop.target;
      if (!target || !loop.iter || !namesOf(target).includes(root)) continue;
      const sources = iterModules(loop.iter);
      const out: Chain[] = [];
      for (const s of sources) {
        const c = chainOf(s, loop);
        if (c)
          out.push(...resolveLoopVar({ ...c, segs: [...c.segs, ...chain.segs.slice(1)] }, loop, depth + 1));
      }
      return out;
    }
    // A helper's parameter: follow it to the arguments of the helper's calls in this file.
    const fn = py.functionAt(at);
    const index = fn?.explicitParams.findIndex((p) => p.name === root) ?? -1;
    if (!fn || index < 0 || depth > 1) return [chain];
    const out: Chain[] = [];
    for (const call of py.calls) {
      let arg: Node | undefined;
      if (call.method === fn.name && localCallee(py, call) === fn)
        arg = call.keywords.get(root) ?? call.args[index];
      // `model.apply(freeze_bn)` runs the helper on every submodule of `model`.
      else if (call.method === "apply" && index === 0 && call.args[0]?.text === fn.name) arg = call.receiver;
      const c = arg ? chainOf(arg, call) : undefined;
      if (c)
        out.push(...resolveLoopVar({ ...c, segs: [...c.segs, ...chain.segs.slice(1)] }, call, depth + 1));
    }
    return out;
  }

  /** The modules a loop walks: `X.parameters()`, `enumerate(X.children())`, `[model.a, model.b]`, `model.layers[:6]`. */
  function iterModules(iter: Node): Node[] {
    let n: Node | null = iter;
    while (
      n?.type === "call" &&
      /^(enumerate|list|tqdm|reversed)$/.test(n.childForFieldName("function")?.text ?? "")
    ) {
      n = n.childForFieldName("arguments")?.namedChildren[0] ?? null;
    }
    if (!n) return [];
    if (n.type === "call") {
      const f = n.childForFieldName("function");
      if (f?.type === "attribute" && MODULE_WALKS.has(f.childForFieldName("attribute")?.text ?? "")) {
        const obj = f.childForFieldName("object");
        return obj ? [obj] : [];
      }
      return [];
    }
    if (n.type === "list" || n.type === "tuple") return n.namedChildren.filter((c): c is Node => c !== null);
    if (n.type === "subscript") {
      const v = n.childForFieldName("value");
      return v ? [v] : [];
    }
    return n.type === "identifier" || n.type === "attribute" ? [n] : [];
  }

  function chainOf(node: Node, at: Span): Chain | undefined {
    let n: Node | null = node;
    while (n?.type === "subscript" || n?.type === "parenthesized_expression") {
      n = n.type === "subscript" ? n.childForFieldName("value") : n.namedChildren[0];
    }
    const text = dotted(n);
    return text ? chainFromText(text, at) : undefined;
  }

  function chainFromText(text: string, at: Span): Chain | undefined {
    if (!/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/.test(text)) return undefined;
    const segs = text.split(".");
    if (segs[0] === "self") {
      const cls = py.classAt(at)?.name;
      return cls ? { segs: segs.slice(1), cls } : undefined;
    }
    // An instance of a local class: its `self` is the class's namespace.
    const cls = localClassOf(segs[0], at);
    return cls ? { segs: segs.slice(1), cls } : { segs };
  }

  function localClassOf(name: string, at: Span): string | undefined {
    const a =
      py.lastAssignment(name, at) ??
      py.assignments.filter((x) => x.targets.includes(name) && py.isModuleLevel(x)).pop();
    if (a?.op !== "=" || a.targets.length !== 1 || a.value?.type !== "call") return undefined;
    const ctor = py.resolve(a.value.childForFieldName("function") ?? a.value);
    return ctor && py.classes.some((c) => c.name === ctor) ? ctor : undefined;
  }
});

/** True when every parameter under `inner` is also under `outer` (`model` covers `model.backbone`). */
function covers(outer: Chain, inner: Chain): boolean {
  if (outer.cls !== inner.cls) return false;
  if (outer.segs.length > inner.segs.length) return false;
  return outer.segs.every((s, i) => inner.segs[i] === s);
}

function namesOf(target: Node): string[] {
  return target.text.split(/[\s,()[\]]+/).filter(Boolean);
}
