import type { Node } from "web-tree-sitter";
import { anyNameMatches } from "../../src/engine/names.js";
import { boolValue, statementOf } from "../../src/engine/python/helpers.js";
import {
  type Assignment,
  type CallSite,
  type FunctionDef,
  type PythonModel,
  type Span,
  spanOf,
} from "../../src/engine/python/model.js";
import type { FixInput } from "../../src/engine/rule.js";
import { defineCheck } from "../../src/engine/rule.js";
import {
  asCall,
  bindingOf,
  calleeName,
  constructionOf,
  gradDisabledAt,
  keyword,
  lastLayer,
  methodName,
  positional,
} from "./_tensors.js";

// Ops whose backward is computed from their own output, so autograd saves that output: changing
// it in place makes backward fail ("modified by an inplace operation").
const SAVES_OUTPUT = [
  "sigmoid",
  "tanh",
  "tan",
  "exp",
  "exp2",
  "expm1",
  "reciprocal",
  "softmax",
  "log_softmax",
  "softmin",
  "relu",
  "sqrt",
  "rsqrt",
];
const SAVES_OUTPUT_FUNCTIONS = [
  ...SAVES_OUTPUT.map((op) => `torch.${op}`),
  ...SAVES_OUTPUT.map((op) => `torch.nn.functional.${op}`),
  "torch.special.expit",
  "torch.special.softmax",
  "torch.special.log_softmax",
];
const SAVES_OUTPUT_MODULES = ["Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Softmin", "ReLU"].map(
  (m) => `torch.nn.${m}`,
);
const AUG_OPS = new Set(["+=", "-=", "*=", "/="]);
// Trailing-underscore methods that change flags or storage sharing, not values.
const NOT_VALUE_CHANGES = new Set(["requires_grad_", "share_memory_", "retain_grad_", "pin_memory_"]);
const INPLACE_METHOD = /^[a-z][a-z0-9_]*[a-z0-9]_$/;
// In-place ops whose out-of-place twin has the same name without the underscore (`zero_`,
// `fill_`, `copy_`, `normal_` have none: those get "clone first" advice and no fix).
const HAS_TWIN = new Set(
  (
    "add sub mul div pow exp log sqrt rsqrt neg abs sigmoid tanh relu clamp clip masked_fill masked_scatter " +
    "index_fill index_add index_copy scatter scatter_add addcmul addcdiv lerp floor ceil round sign squeeze " +
    "unsqueeze t transpose reciprocal elu leaky_relu hardtanh threshold rrelu silu gelu celu selu softplus " +
    "log_softmax softmax exp2 expm1 sin cos tan"
  ).split(" "),
);
// Products save both operands for backward; multiplying by these is usually by a constant.
const PRODUCTS = ["torch.matmul", "torch.mm", "torch.bmm", "torch.mul"];
const CONSTANT_LIKE = /mask|scale|temperature|temp|alpha|beta|gamma|eps|coef|factor/i;

interface Site {
  /** The variable changed in place. */
  name: string;
  /** What to report on. */
  node: Node;
  /** How the change is spelled, for the message. */
  spelling: string;
  /** How to avoid the in-place change, for the message. */
  advice: string;
  /** For in-place modules: what the module is, for the message. */
  via?: string;
  fix?: FixInput;
}

/** What produced `value`, when it is an op that autograd saves the output of. */
function savedOutputOp(py: PythonModel, value: Node | undefined, at: Span): string | undefined {
  const call = asCall(value);
  if (!call) return undefined;
  const name = calleeName(py, call);
  if (name && anyNameMatches(name, SAVES_OUTPUT_FUNCTIONS))
    return name.replace(/^torch\.nn\.functional\./, "F.");
  const method = methodName(call);
  if (method && SAVES_OUTPUT.includes(method) && !name?.startsWith("torch.")) return `.${method}()`;
  // A module attribute (`self.act = nn.Sigmoid()`), also at the end of an `nn.Sequential`.
  const callee = call.childForFieldName("function");
  if (callee && (callee.type === "attribute" || callee.type === "identifier")) {
    const ctor = constructionOf(py, callee.text.replace(/\s+/g, ""), at);
    const layer = ctor ? lastLayer(py, ctor) : undefined;
    const layerName = layer ? calleeName(py, layer) : undefined;
    if (layerName && anyNameMatches(layerName, SAVES_OUTPUT_MODULES))
      return `nn.${layerName.split(".").pop()}`;
  }
  return undefined;
}

function inplaceSites(py: PythonModel, fn: FunctionDef): Site[] {
  const sites: Site[] = [];
  const direct = (x: Span) => py.functionAt(x) === fn;
  for (const a of py.assignmentsIn(fn.body)) {
    if (!AUG_OPS.has(a.op) || a.left.type !== "identifier" || !direct(a)) continue;
    const rhs = a.value;
    const simple =
      rhs && /^(identifier|attribute|call|subscript|integer|float|parenthesized_expression)$/.test(rhs.type);
    const fix = rhs
      ? {
          description: "use an out-of-place operation",
          edits: [
            {
              at: a.node,
              text: `${a.left.text} = ${a.left.text} ${a.op[0]} ${simple ? rhs.text : `(${rhs.text})`}`,
            },
          ],
        }
      : undefined;
    const name = a.left.text;
    sites.push({
      name,
      node: a.node,
      spelling: `${name} ${a.op} ...`,
      advice: `Write it out of place: \`${name} = ${name} ${a.op[0]} ...\`.`,
      fix,
    });
  }
  for (const call of py.callsIn(fn.body, { direct: true })) {
    const method = call.method;
    const recv = call.receiver;
    const stmt = statementOf(call.node);
    const wholeStatement = stmt.type === "expression_statement" && stmt.text === call.node.text;
    if (
      method &&
      INPLACE_METHOD.test(method) &&
      !NOT_VALUE_CHANGES.has(method) &&
      recv?.type === "identifier"
    ) {
      if (call.name?.startsWith("torch.")) {
        // `torch.relu_(x)`, `F.relu_(x)`: the first argument is changed.
        const first = call.args[0];
        if (first?.type !== "identifier" || !call.is("torch.*", "torch.nn.functional.*")) continue;
        const twin = HAS_TWIN.has(method.slice(0, -1));
        sites.push({
          name: first.text,
          node: call.node,
          spelling: `${call.callee.text}(${first.text}, ...)`,
          advice: twin
            ? `Write it out of place: \`${first.text} = ${call.callee.text.slice(0, -1)}(${first.text}, ...)\`.`
            : `Work on a copy: \`${first.text} = ${first.text}.clone()\` first.`,
          fix:
            twin && wholeStatement
              ? {
                  description: "use an out-of-place operation",
                  edits: [
                    {
                      at: stmt,
                      text: `${first.text} = ${call.callee.text.slice(0, -1)}${call.argsNode.text}`,
                    },
                  ],
                }
              : undefined,
        });
        continue;
      }
      const twin = HAS_TWIN.has(method.slice(0, -1));
      sites.push({
        name: recv.text,
        node: call.node,
        spelling: `${recv.text}.${method}(...)`,
        advice: twin
          ? `Write it out of place: \`${recv.text} = ${recv.text}.${method.slice(0, -1)}(...)\`.`
          : `Work on a copy: \`${recv.text} = ${recv.text}.clone()\` first.`,
        fix:
          twin && wholeStatement
            ? {
                description: "use an out-of-place operation",
                edits: [
                  {
                    at: stmt,
                    text: `${recv.text} = ${recv.text}.${method.slice(0, -1)}${call.argsNode.text}`,
                  },
                ],
              }
            : undefined,
      });
      continue;
    }
    const inplace = call.keywords.get("inplace");
    const first = call.args[0];
    if (
      inplace &&
      boolValue(inplace) === true &&
      first?.type === "identifier" &&
      call.is("torch.nn.functional.*")
    ) {
      sites.push({
        name: first.text,
        node: call.node,
        spelling: `${call.callee.text}(${first.text}, inplace=True)`,
        advice: `Drop \`inplace=True\` and assign the result: \`${first.text} = ${call.callee.text}(${first.text}, ...)\`.`,
        // Turning the flag off is only safe when the result is assigned back (`x = F.relu(x, inplace=True)`).
        fix: assignsBack(call, first.text)
          ? { description: "use an out-of-place operation", edits: [{ at: inplace, text: "False" }] }
          : undefined,
      });
      continue;
    }
    // `self.act(x)` where `self.act = nn.ReLU(inplace=True)` (or such a layer opens a Sequential).
    const module = first?.type === "identifier" ? inplaceModule(py, call) : undefined;
    if (first && module) {
      sites.push({
        name: first.text,
        node: call.node,
        spelling: `${call.callee.text}(${first.text})`,
        advice: `Build that layer with \`inplace=False\`, or pass it a copy: \`${call.callee.text}(${first.text}.clone())\`.`,
        via: `, and \`${call.callee.text}\` is ${module}, which overwrites its input`,
      });
    }
  }
  return sites.sort((a, b) => a.node.startIndex - b.node.startIndex);
}

// Layers that take `inplace`, with the position of that parameter.
const INPLACE_LAYERS = new Map<string, number>([
  ["torch.nn.ReLU", 0],
  ["torch.nn.ReLU6", 0],
  ["torch.nn.SiLU", 0],
  ["torch.nn.Mish", 0],
  ["torch.nn.Hardswish", 0],
  ["torch.nn.Hardsigmoid", 0],
  ["torch.nn.SELU", 0],
  ["torch.nn.LeakyReLU", 1],
  ["torch.nn.ELU", 1],
  ["torch.nn.CELU", 1],
  ["torch.nn.Dropout", 1],
  ["torch.nn.Dropout1d", 1],
  ["torch.nn.Dropout2d", 1],
  ["torch.nn.Dropout3d", 1],
  ["torch.nn.AlphaDropout", 1],
  ["torch.nn.Hardtanh", 2],
  ["torch.nn.Threshold", 2],
]);

/** `nn.ReLU(inplace=True)` (as written) when the module `call` invokes changes its input in place. */
function inplaceModule(py: PythonModel, call: CallSite): string | undefined {
  const callee = call.callee;
  if (callee.type !== "attribute" && callee.type !== "identifier") return undefined;
  let ctor = constructionOf(py, callee.text.replace(/\s+/g, ""), call);
  const sequential = ctor !== undefined && calleeName(py, ctor) === "torch.nn.Sequential";
  if (ctor && sequential) ctor = asCall(positional(ctor)[0]);
  const name = ctor ? calleeName(py, ctor) : undefined;
  const index = name ? INPLACE_LAYERS.get(name) : undefined;
  if (!ctor || index === undefined) return undefined;
  const flag = keyword(ctor, "inplace") ?? positional(ctor)[index];
  if (boolValue(flag) !== true) return undefined;
  const layer = ctor.text.replace(/\s+/g, " ");
  return sequential ? `an \`nn.Sequential\` that starts with \`${layer}\`` : `\`${layer}\``;
}

/** True when the call's result is assigned to `name` (`name = call(...)`). */
function assignsBack(call: CallSite, name: string): boolean {
  const parent = call.node.parent;
  return (
    parent?.type === "assignment" &&
    parent.childForFieldName("right")?.id === call.node.id &&
    parent.childForFieldName("left")?.text === name
  );
}

/** A product between `binding` and `site` that reads `name` next to another tensor, if any. */
function productReading(
  py: PythonModel,
  fn: FunctionDef,
  name: string,
  binding: Assignment,
  site: Node,
): Node | undefined {
  const between = (n: { startIndex: number; endIndex: number }) =>
    n.startIndex >= binding.end && n.endIndex <= site.startIndex;
  const isName = (n: Node | null) => n?.type === "identifier" && n.text === name;
  // The saved operand matters only when the other one requires grad: a value computed in this
  // forward pass, not an input that may be data or a mask.
  const tensorLike = (n: Node | null): boolean => {
    if (!n || CONSTANT_LIKE.test(n.text)) return false;
    if (n.type === "call") return true;
    if (n.type !== "identifier") return false;
    const b = bindingOf(py, n.text, spanOf(n));
    return b !== undefined && py.functionAt(b) === fn && /^(call|binary_operator)$/.test(b.value?.type ?? "");
  };
  for (const a of py.assignmentsIn(fn.body)) {
    const v = a.value;
    if (!v || !between(v) || a.op !== "=" || py.functionAt(a) !== fn) continue;
    const stack: Node[] = [v];
    while (stack.length) {
      const n = stack.pop()!;
      if (n.type === "lambda") continue;
      if (n.type === "binary_operator") {
        const op = n.childForFieldName("operator")?.text;
        const l = n.childForFieldName("left");
        const r = n.childForFieldName("right");
        if ((op === "*" || op === "@") && ((isName(l) && tensorLike(r)) || (isName(r) && tensorLike(l))))
          return n;
      } else if (n.type === "call") {
        const callee = calleeName(py, n);
        const args = positional(n);
        if (
          anyNameMatches(callee, PRODUCTS) &&
          args.length === 2 &&
          args.some((x) => isName(x)) &&
          args.every((x) => isName(x) || tensorLike(x))
        )
          return n;
      }
      for (const c of n.namedChildren) if (c) stack.push(c);
    }
  }
  return undefined;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const forwards = py.functions.filter((f) => f.name === "forward");
  if (forwards.length === 0) return;
  // Methods that forward calls on `self` run inside the same graph.
  const helpers = forwards.flatMap((f) => {
    const called = new Set(
      py
        .callsIn(f.body)
        .filter((c) => c.receiver?.text === "self" && c.method)
        .map((c) => c.method!),
    );
    return f.cls ? f.cls.methods.filter((m) => m !== f && called.has(m.name)) : [];
  });
  for (const fn of new Set([...forwards, ...helpers])) {
    const reported = new Set<number>();
    for (const site of inplaceSites(py, fn)) {
      if (gradDisabledAt(py, site.node)) continue;
      const binding = bindingOf(py, site.name, spanOf(statementOf(site.node)));
      if (!binding || reported.has(binding.start) || gradDisabledAt(py, binding)) continue;
      const op = savedOutputOp(py, binding.value, binding);
      let message: string | undefined;
      if (op) {
        message =
          `\`${site.name}\` holds the output of \`${op}\`, which autograd keeps to compute its gradient${site.via ?? ""}; changing it in place (\`${site.spelling}\`) ` +
          `makes \`backward()\` fail with "one of the variables needed for gradient computation has been modified by an inplace operation". ` +
          site.advice;
      } else {
        const product = productReading(py, fn, site.name, binding, site.node);
        if (!product) continue;
        message =
          `\`${site.name}\` was multiplied by another tensor on line ${product.startPosition.row + 1}, so autograd saved it for that product's gradient; ` +
          `changing it in place afterwards (\`${site.spelling}\`${site.via ?? ""}) makes \`backward()\` fail with "modified by an inplace operation". ` +
          site.advice;
      }
      reported.add(binding.start);
      ctx.report(site.node, { message, fix: site.fix });
    }
  }
});
