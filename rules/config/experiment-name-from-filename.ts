import type { Node } from "web-tree-sitter";
import { namesIn } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";

// A file name taken apart: `.stem`, `basename(...)`, `splitext(...)`, `.name` stripped of its suffix.
const FILENAME_PART = new RegExp(
  [
    String.raw`\.stem\b`,
    String.raw`\bbasename\s*\(`,
    String.raw`\bsplitext\s*\(`,
    String.raw`\.name\s*\.\s*(replace|split|removesuffix|rsplit)\s*\(`,
    String.raw`\.with_suffix\s*\(\s*["']{2}\s*\)`,
    String.raw`\.split\(\s*["'][/\\]+["']\s*\)\s*\[\s*-1\s*\]`,
    String.raw`\.(replace|removesuffix)\(\s*["']\.ya?ml["']`,
  ].join("|"),
);
const CONFIG_PATH = /conf|cfg|ya?ml|param|hparam|setting|recipe/i;
const PATH_PARTS = /^(stem|name|parent|suffix|parts|absolute|resolve)$/;

/**
 * True when the expression takes apart a config file's path: a variable named like one
 * (`args.config`, `cfg_path`) or a `.yaml` literal. Values read from a config (`cfg["data_path"]`)
 * are other files.
 */
function mentionsConfigPath(text: string): boolean {
  if (/["'][^"']*\.ya?ml["']/.test(text)) return true;
  const code = text.replace(/(["'])(?:\\.|(?!\1).)*\1/g, '""');
  for (const m of code.matchAll(/(?<![\w.])[A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*/g)) {
    const after = code.slice(m.index + m[0].length).trimStart()[0];
    if (after === "[" || after === "(") continue;
    // The name the path is held in: `cfg_path` in `cfg_path.stem`, `config` in `args.config`.
    const segments = m[0].split(".").map((x) => x.trim());
    while (segments.length > 1 && PATH_PARTS.test(segments[segments.length - 1])) segments.pop();
    const holder = segments[segments.length - 1];
    if (CONFIG_PATH.test(holder) && !m[0].includes("__file__")) return true;
  }
  return false;
}

/** The expression behind a name: its last assignment in the same function, or its single module-level binding. */
function bindingOf(py: PythonModel, name: string, at: CallSite): Node | undefined {
  const local = py.lastAssignment(name, at);
  if (local) return local.targets.length === 1 ? local.value : undefined;
  const all = py.assignments.filter((a) => a.targets.length === 1 && a.targets[0] === name);
  return all.length === 1 && py.isModuleLevel(all[0]) ? all[0].value : undefined;
}

/** The expression that takes the config file's name apart, if `value` is derived from one. */
function fromConfigFilename(py: PythonModel, value: Node, at: CallSite, depth = 0): Node | undefined {
  if (depth > 3) return undefined;
  const text = value.text;
  if (FILENAME_PART.test(text)) {
    if (mentionsConfigPath(text)) return value;
    // An f-string: the path taken apart inside an interpolation (`f"exp-{config.stem}"`).
    const parts = value.type === "string" ? value.descendantsOfType("interpolation") : [];
    return parts.find(
      (p): p is Node => p !== null && FILENAME_PART.test(p.text) && mentionsConfigPath(p.text),
    );
  }
  // A variable, or one interpolated / concatenated into the name: `f"exp-{name}"`.
  if (!["identifier", "string", "binary_operator", "concatenated_string"].includes(value.type))
    return undefined;
  for (const name of [...namesIn(value)].slice(0, 4)) {
    const bound = bindingOf(py, name, at);
    const found = bound ? fromConfigFilename(py, bound, at, depth + 1) : undefined;
    if (found) return found;
  }
  return undefined;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const sites: { call: CallSite; value: Node; report: Node }[] = [];
  for (const call of py.calls) {
    const kw = call.keywords.get("experiment_name");
    if (kw) sites.push({ call, value: kw, report: kw.parent ?? kw });
    else if (call.is("mlflow.set_experiment") && call.imported && call.args[0])
      sites.push({ call, value: call.args[0], report: call.node });
  }
  for (const site of sites) {
    const origin = fromConfigFilename(py, site.value, site.call);
    if (!origin) continue;
    const shown = origin.text.replace(/\s+/g, " ");
    ctx.report(site.report, {
      message:
        `The MLflow experiment name comes from the config file's name (\`${shown.length <= 60 ? shown : "the file name"}\`). ` +
        "Renaming, moving or copying that file silently starts a new experiment, so related runs split apart and " +
        "comparisons miss half of them. Choose the name deliberately: an `experiment_name` key in the config, or a " +
        "constant per project.",
    });
  }
});
