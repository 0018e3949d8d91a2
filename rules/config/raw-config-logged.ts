import type { Node } from "web-tree-sitter";
import { namesIn } from "../../src/engine/python/helpers.js";
import type { Assignment, CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { cliNames, configNames } from "./_lib.js";

const MUTATORS = new Set(["update", "merge_with", "setdefault"]);
const CLI_VALUE = new Set([
  "dictionary",
  "dictionary_comprehension",
  "attribute",
  "subscript",
  "identifier",
  "call",
]);

function reads(node: Node | undefined, names: Set<string>): boolean {
  if (!node) return false;
  const text = node.text;
  return (
    [...namesIn(node)].some((n) => names.has(n)) ||
    [...names].some((n) => n.includes(".") && text.includes(n))
  );
}

/** Where CLI values are written into the config itself after `after`: `cfg["lr"] = args.lr`, `cfg.update(vars(args))`. */
function laterMutation(py: PythonModel, config: string, cli: Set<string>, log: CallSite): Node | undefined {
  const fn = py.functionAt(log);
  for (const a of py.assignments) {
    if (a.start < log.end || py.functionAt(a) !== fn) continue;
    const intoConfig = a.targets.some(
      (t) => t.startsWith(`${config}[`) || t.startsWith(`${config}.`) || (a.op === "|=" && t === config),
    );
    if (intoConfig && reads(a.value, cli)) return a.node;
  }
  for (const c of py.calls) {
    if (c.start < log.end || py.functionAt(c) !== fn) continue;
    const recv = c.receiver?.text.replace(/\s+/g, "");
    if (recv === config && MUTATORS.has(c.method ?? "") && reads(c.argsNode, cli)) return c.node;
    if (c.name === "setattr" && c.args[0]?.text === config && reads(c.argsNode, cli)) return c.node;
  }
  return undefined;
}

const COPY_CALL = /^(dict|copy\.copy|copy\.deepcopy|deepcopy|omegaconf\.OmegaConf\.create)$/;

/** Names bound to a plain copy of the config (`cfg = {**raw}`, `dict(raw)`, `raw.copy()`, `deepcopy(raw)`). */
function copiesOf(py: PythonModel, config: string): string[] {
  return py.assignments.flatMap((a) => {
    const v = a.value;
    if (a.op !== "=" || a.targets.length !== 1 || !/^[A-Za-z_]\w*$/.test(a.targets[0]) || !v) return [];
    const text = v.text.replace(/\s+/g, "");
    let copy = false;
    if (v.type === "dictionary") copy = text === `{**${config}}`;
    else if (v.type === "call") {
      const callee = v.childForFieldName("function");
      const args = v.childForFieldName("arguments")?.namedChildren ?? [];
      if (callee?.text === `${config}.copy`) copy = args.length === 0;
      else if (callee)
        copy =
          COPY_CALL.test(py.resolve(callee) ?? callee.text) && args.length === 1 && args[0]?.text === config;
    }
    return copy && a.targets[0] !== config ? [a.targets[0]] : [];
  });
}

const MERGING_CALL = /merge|update|override|combine|resolve/i;

/** True for expressions that combine two sources into one value: merges, `a or b`, `a if c else b`. */
function combines(py: PythonModel, value: Node): boolean {
  if (value.type === "boolean_operator" || value.type === "conditional_expression") return true;
  if (value.type === "dictionary") return value.namedChildren.some((c) => c?.type === "dictionary_splat");
  if (value.type !== "call") return false;
  const callee = value.childForFieldName("function");
  return callee !== null && MERGING_CALL.test(py.resolve(callee) ?? callee.text);
}

/**
 * A value resolved from the config and the CLI together (`{**cfg, **vars(args)}`, `args.lr or
 * cfg["lr"]`, `OmegaConf.merge(cfg, cli)`), other than the config itself re-resolved before the log.
 */
function resolvedElsewhere(
  py: PythonModel,
  config: string,
  cli: Set<string>,
  log: CallSite,
): Assignment | undefined {
  const own = new Set([config]);
  return py.assignments.find(
    (a) =>
      a.value !== undefined &&
      !(a.targets.includes(config) && a.end <= log.start) &&
      combines(py, a.value) &&
      reads(a.value, own) &&
      reads(a.value, cli),
  );
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const logs = py.callsTo("mlflow.log_params", "mlflow.log_dict").filter((c) => c.imported);
  if (logs.length === 0) return;
  const configs = configNames(py);
  if (configs.length === 0) return;
  const cli = cliNames(py);
  if (cli.size === 0) return;
  // Names bound to values read from the CLI (`overrides = {k: v for k, v in vars(args).items() ...}`).
  const loaded = new Set(configs.map((c) => c.name));
  for (const a of py.assignments) {
    const target = a.targets.length === 1 ? a.targets[0] : "";
    if (a.op !== "=" || !/^[A-Za-z_]\w*$/.test(target) || loaded.has(target)) continue;
    if (!a.value || !CLI_VALUE.has(a.value.type) || !reads(a.value, cli) || reads(a.value, loaded)) continue;
    // Only CLI values themselves (`vars(args)`, `dict(...)`), not objects made from them (`start_run(run_name=args.name)`).
    const callee = a.value.type === "call" ? a.value.childForFieldName("function")?.text : undefined;
    if (callee === undefined || /^(vars|dict)$/.test(callee)) cli.add(target);
  }
  for (const log of logs) {
    const arg = log.arg(log.method === "log_dict" ? "dictionary" : "params", 0);
    if (!arg) continue;
    const config = configs.find((c) => reads(arg, new Set([c.name])) && c.at.endIndex <= log.start);
    if (!config) continue;
    const copies = copiesOf(py, config.name);
    const own = laterMutation(py, config.name, cli, log);
    const later = own ?? copies.map((name) => laterMutation(py, name, cli, log)).find((n) => n !== undefined);
    const into = own ? "into it" : "into a copy of it";
    const elsewhere = later ? undefined : resolvedElsewhere(py, config.name, cli, log);
    if (!later && !elsewhere) continue;
    const how = later
      ? `the command-line overrides are written ${into} only afterwards (line ${later.startPosition.row + 1})`
      : `the values actually used are resolved from it and the command line elsewhere (line ${elsewhere!.line})`;
    ctx.report(log, {
      message:
        `This logs the YAML config as loaded, but ${how}. The run then records settings it did not use: ` +
        "any run started with a flag shows the file's value instead of the flag's. Apply the overrides first and log " +
        "the resolved config (the dict the code actually reads).",
    });
  }
});
