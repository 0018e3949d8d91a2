import type { Node } from "web-tree-sitter";
import { anyNameMatches } from "../../src/engine/names.js";
import { subclassesOf } from "../../src/engine/python/frameworks.js";
import { literal } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { comprehensionTargets, type Repetition, repetitionOf } from "./_lib.js";

// Calls whose result is big enough that copying it per task matters: frames, loaded arrays,
// datasets and models.
const LARGE_CONSTRUCTORS = [
  "pandas.read_*",
  "pandas.DataFrame",
  "pandas.concat",
  "polars.read_*",
  "polars.DataFrame",
  "numpy.load",
  "numpy.loadtxt",
  "numpy.genfromtxt",
  "numpy.fromfile",
  "numpy.memmap",
  "torch.load",
  "datasets.load_dataset",
  "datasets.load_from_disk",
  "sklearn.datasets.load_*",
  "sklearn.datasets.fetch_*",
  "torchvision.datasets.*",
  "torchvision.models.*",
  "timm.create_model",
  "transformers.**.from_pretrained",
  "joblib.load",
  "pickle.load",
];
// Array factories: large only when their literal shape says so (Ray inlines small arguments).
const ARRAY_FACTORIES = [
  "numpy.zeros",
  "numpy.ones",
  "numpy.empty",
  "numpy.full",
  "numpy.random.*",
  "torch.zeros",
  "torch.ones",
  "torch.empty",
  "torch.full",
  "torch.rand",
  "torch.randn",
  "torch.randint",
];
const LARGE_ELEMENTS = 10_000;
const LARGE_TYPES = [
  "pandas.DataFrame",
  "polars.DataFrame",
  "numpy.ndarray",
  "torch.Tensor",
  "torch.nn.Module",
  "torch.utils.data.Dataset",
  "datasets.Dataset",
];
const MODEL_BASES = [
  "torch.nn.Module",
  "lightning.pytorch.**.LightningModule",
  "transformers.**.PreTrainedModel",
];
// Names that, with nothing else known, say "a dataset, a frame, an array or a model".
const LARGE_NAME =
  /^(?:df|dataset|frame|dataframe|X|X_(?:train|test|val|valid|all)|features|embeddings|weights|state_dict|model|corpus|images)$|_(?:df|dataset|frame|model|weights|embeddings|matrix)$/;

/** The value of a constant integer expression (`1024 * 1024`, `10**6`), else undefined. */
function constant(node: Node | null | undefined): number | undefined {
  if (!node) return undefined;
  if (node.type === "parenthesized_expression") return constant(node.namedChildren[0]);
  const lit = literal(node);
  if (lit?.kind === "num") return lit.value;
  if (node.type !== "binary_operator") return undefined;
  const l = constant(node.childForFieldName("left"));
  const r = constant(node.childForFieldName("right"));
  if (l === undefined || r === undefined) return undefined;
  switch (node.childForFieldName("operator")?.text) {
    case "*":
      return l * r;
    case "**":
      return l ** r;
    case "+":
      return l + r;
    case "-":
      return l - r;
    case "//":
      return Math.floor(l / r);
    default:
      return undefined;
  }
}

/** Elements an array factory call creates, from its literal shape; undefined when not written out. */
function elementsOf(call: Node): number | undefined {
  const argList = call.childForFieldName("arguments")?.namedChildren ?? [];
  const positional = argList.filter(
    (a): a is Node => a !== null && a.type !== "keyword_argument" && a.type !== "comment",
  );
  const size = argList
    .find((a) => a?.type === "keyword_argument" && a.childForFieldName("name")?.text === "size")
    ?.childForFieldName("value");
  const tuple = positional.find((a) => a.type === "tuple" || a.type === "list");
  const shape = size
    ? size.type === "tuple" || size.type === "list"
      ? size.namedChildren
      : [size]
    : tuple
      ? tuple.namedChildren
      : positional;
  if (shape.length === 0) return undefined;
  let n = 1;
  for (const dim of shape) {
    const v = constant(dim);
    if (v === undefined) return undefined;
    n *= v;
  }
  return n;
}

function repetitionTargets(rep: Repetition): Set<string> {
  if (rep.kind === "comprehension") return comprehensionTargets(rep.node);
  const names = new Set<string>();
  const t = rep.loop.target;
  if (t)
    for (const id of t.type === "identifier" ? [t] : t.descendantsOfType("identifier"))
      if (id) names.add(id.text);
  return names;
}

/** Why `name` (passed at `call`) looks like a large object; undefined when it does not or cannot be told. */
function largeOrigin(py: PythonModel, name: string, call: CallSite, models: Set<string>): string | undefined {
  const a = py.lastAssignment(name, call);
  if (a) {
    const value = a.value;
    if (a.op !== "=" || !value) return undefined;
    // `X, y = fetch_openml(..., return_X_y=True)`: each part of what a loader returned is data.
    if (a.targets.length !== 1) {
      const ctor =
        value.type === "call" ? py.resolve(value.childForFieldName("function") ?? value) : undefined;
      return ctor && anyNameMatches(ctor, LARGE_CONSTRUCTORS) ? `from \`${ctor}(...)\`` : undefined;
    }
    if (value.type === "call") {
      const ctor = py.resolve(value.childForFieldName("function") ?? value);
      if (!ctor) return undefined;
      if (ctor === "ray.put") return undefined;
      if (anyNameMatches(ctor, LARGE_CONSTRUCTORS)) return `built by \`${ctor}(...)\``;
      if (anyNameMatches(ctor, ARRAY_FACTORIES)) {
        const n = elementsOf(value);
        return n !== undefined && n >= LARGE_ELEMENTS ? `${n.toLocaleString("en")} elements` : undefined;
      }
      if (models.has(ctor)) return `a \`${ctor}\` model`;
      return LARGE_NAME.test(name) ? "" : undefined;
    }
    if (literal(value) !== undefined) return undefined;
    return LARGE_NAME.test(name) && value.type !== "attribute" ? "" : undefined;
  }
  const fn = py.functionAt(call);
  const param = fn?.params.find((p) => p.name === name);
  if (param?.annotation) {
    const type = py.resolve(param.annotation.text.replace(/^Optional\[(.*)\]$/, "$1"));
    return type && anyNameMatches(type, LARGE_TYPES) ? `a \`${type}\`` : undefined;
  }
  return LARGE_NAME.test(name) ? "" : undefined;
}

function assignedIn(py: PythonModel, name: string, region: Node): boolean {
  return py
    .assignmentsIn(region)
    .some((a) => a.targets.some((t) => t === name || t.startsWith(`${name}[`) || t.startsWith(`${name}.`)));
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const submits = py.methodCalls("remote").filter((c) => c.receiver && c.name !== "ray.remote");
  if (submits.length === 0) return;
  const models = new Set(subclassesOf(py, MODEL_BASES).map((c) => c.name));
  for (const call of submits) {
    const rep = repetitionOf(py, call.node);
    if (!rep) continue;
    const loopNames = repetitionTargets(rep);
    const found: string[] = [];
    for (const arg of [...call.args, ...call.keywords.values()]) {
      // `self.df` / `self.model` held by the object that fans out the work.
      const attr = /^self\.(\w+)$/.exec(arg.text.replace(/\s+/g, ""))?.[1];
      if (attr !== undefined) {
        if (LARGE_NAME.test(attr) && !assignedIn(py, `self.${attr}`, rep.node))
          found.push(`\`self.${attr}\``);
        continue;
      }
      if (arg.type !== "identifier" || loopNames.has(arg.text)) continue;
      if (/(?:^|_)(?:ref|refs|id|handle)$/.test(arg.text)) continue;
      if (assignedIn(py, arg.text, rep.node)) continue;
      const why = largeOrigin(py, arg.text, call, models);
      if (why === undefined) continue;
      found.push(why ? `\`${arg.text}\` (${why})` : `\`${arg.text}\``);
    }
    if (found.length === 0) continue;
    const first = /`(?:self\.)?(\w+)`/.exec(found[0])?.[1] ?? "obj";
    ctx.report(call, {
      message:
        `${found.join(", ")} ${found.length > 1 ? "are the same objects" : "is the same object"} on every iteration, ` +
        `yet passing ${found.length > 1 ? "them" : "it"} to \`.remote(...)\` serialises ${found.length > 1 ? "them" : "it"} ` +
        "again for each call, and Ray stores a fresh copy in the object store per task. " +
        `Put ${found.length > 1 ? "each" : "it"} there once before the loop, \`${first}_ref = ray.put(${first})\`, and pass \`${first}_ref\`; tasks receive the object itself (NumPy ` +
        "arrays zero-copy, read-only).",
    });
  }
});
