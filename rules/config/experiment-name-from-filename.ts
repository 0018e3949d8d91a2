import type { Node } from "web-tree-sitter";
import { namesIn } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";

// A file name taken apart: `.stem`, `basename(...)`, `splitext(...)`, `.name` stripped of its suffix.
const FILENAME_PART =
  /\.stem\b|\bbasename\s*\(|\bsplitext\s*\(|\.name\s*\.\s*(replace|split|removesuffix|rsplit)\s*\(|\.with_suffix\s*\(\s*["']{2}\s*\)/;
const CONFIG_PATH = /conf|cfg|ya?ml|param|hparam|setting|recipe/i;

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
    return CONFIG_PATH.test(text) && !/__file__|sys\.argv\s*\[\s*0\s*\]/.test(text) ? value : undefined;
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
