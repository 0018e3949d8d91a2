import type { Node } from "web-tree-sitter";
import type { FunctionDef, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { moduleClasses } from "./_tensors.js";

// How people write shapes in prose: `(B, C, H, W)`, `[batch, seq, dim]`, `B x T`, "shape".
const SHAPE_NOTE =
  /\bshape\b|\(\s*[A-Za-z_*][\w*]*(\s*,\s*[\w*.]+)+\s*\)|\[\s*[A-Za-z_][\w]*(\s*,\s*[\w.]+)+\s*\]|\b[A-Z]\s*[x×]\s*[A-Z]\b/;

/** The docstring of a function or class body, if its first statement is a string. */
function docstring(body: Node): string | undefined {
  const first = body.namedChildren.find((c) => c?.type !== "comment");
  const expr = first?.type === "expression_statement" ? first.namedChildren[0] : undefined;
  return expr?.type === "string" ? expr.text : undefined;
}

/** True when the function's docstring or comments (in the signature or body) describe shapes. */
function notesShapes(py: PythonModel, fn: FunctionDef): boolean {
  const doc = docstring(fn.body);
  if (doc && SHAPE_NOTE.test(doc)) return true;
  return py.comments.some((c) => c.start >= fn.start && c.end <= fn.end && SHAPE_NOTE.test(c.text));
}

// Elementwise ops: they work on a tensor of any shape, so a body made only of them has no shape
// to document (activation modules such as timm's `GELU.forward(self, input: Tensor) -> Tensor`).
const ELEMENTWISE = new Set(
  (
    "relu relu_ relu6 gelu silu sigmoid sigmoid_ tanh tanh_ elu selu celu leaky_relu softplus mish " +
    "hardswish hardsigmoid hardtanh prelu rrelu logsigmoid softsign tanhshrink hardshrink softshrink " +
    "exp log log1p expm1 sqrt rsqrt abs neg clamp clamp_ clip mul mul_ add add_ sub div div_ pow square " +
    "erf sin cos sign floor ceil round reciprocal threshold float half double type_as"
  ).split(" "),
);
// Anything that reads or depends on a shape: sizes, dimensions, indexing, matrix products.
const SHAPE_DEPENDENT = /\.shape\b|\.size\s*\(|\.ndim\b|\bdim\s*=|\baxis\s*=|@|\[/;

/** True when `fn` only applies elementwise ops (directly or through this file's top-level helpers). */
function elementwise(py: PythonModel, fn: FunctionDef, depth = 0): boolean {
  if (depth > 3) return false;
  const doc = fn.body.namedChildren.find((c) => c?.type !== "comment");
  const text = fn.body.namedChildren
    .filter((c) => c && c !== doc && c.type !== "comment")
    .map((c) => c?.text ?? "")
    .join("\n");
  const statements = docstring(fn.body) !== undefined ? text : fn.body.text;
  if (SHAPE_DEPENDENT.test(statements)) return false;
  return py.callsIn(fn.body).every((c) => {
    if (ELEMENTWISE.has(c.method ?? "")) return true;
    const helper =
      c.callee.type === "identifier"
        ? py.functions.find((f) => f.name === c.callee.text && !f.cls)
        : undefined;
    return helper !== undefined && helper !== fn && elementwise(py, helper, depth + 1);
  });
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (!ctx.text.includes("Tensor")) return;
  // `Optional[torch.Tensor]` and `torch.Tensor | None` say no more about the shape than the bare type.
  const isPlain = (n: Node | undefined): boolean => {
    if (!n) return false;
    const text = n.text.replace(/\s+/g, "");
    const optional = /^([\w.]+)\[(.+)\]$/.exec(text);
    const inner =
      optional && /^(typing\.)?Optional$/.test(py.resolve(optional[1]) ?? optional[1])
        ? optional[2]
        : text.replace(/^None\||\|None$/, "");
    return py.resolve(inner) === "torch.Tensor";
  };
  const modules = moduleClasses(py);
  if (modules.length === 0) return;
  // Model code: the modules' methods, and the file's top-level functions (attention kernels,
  // losses) written next to them.
  const documented = new Set(modules.filter((c) => SHAPE_NOTE.test(docstring(c.body) ?? "")));
  const functions = [
    ...modules.filter((c) => !documented.has(c)).flatMap((c) => c.methods),
    ...py.functions.filter((f) => !f.cls && !f.parentFunction),
  ];
  for (const fn of functions) {
    const plain = [...fn.explicitParams.map((p) => p.annotation), fn.returnType].filter(isPlain) as Node[];
    if (plain.length === 0 || notesShapes(py, fn) || elementwise(py, fn)) continue;
    const first = plain.sort((a, b) => a.startIndex - b.startIndex)[0];
    ctx.report(first, {
      message:
        `\`${fn.name}\` annotates ${plain.length === 1 ? "a tensor" : `${plain.length} tensors`} as plain \`torch.Tensor\`, which says nothing about the shapes it expects. ` +
        'Note them where readers and tools see them: jaxtyping (`Float[Tensor, "batch channels height width"]`), `typing.Annotated`, or a docstring line such as `x: (B, C, H, W)`.',
    });
  }
});
