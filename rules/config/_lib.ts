import type { Node } from "web-tree-sitter";
import { assignmentOf } from "../../src/engine/python/flow.js";
import { dotted, isWithin, literal, stringValue } from "../../src/engine/python/helpers.js";
import type { CallSite, FunctionDef, PythonModel } from "../../src/engine/python/model.js";
import { yamlLoads } from "../pyyaml/_lib.js";

// Shared by the config checks (not a rule: no YAML beside it): which names hold a loaded YAML
// config and which keys the code reads from it, and which options the command line defines.

const OTHER_LOADS = ["omegaconf.OmegaConf.load"];
// The project's own config loader, defined here or imported: `cfg = load_config(args.config)`.
const LOADER_NAME = /^(load|read|get|parse)_?(yaml|yml|config|cfg|conf|hparams|params|settings)(_file)?$/i;

/** Calls that read a config file: PyYAML loads, OmegaConf, this file's functions returning one, named loaders. */
function configLoads(py: PythonModel): CallSite[] {
  const direct = [...yamlLoads(py), ...py.callsTo(...OTHER_LOADS).filter((c) => c.imported)];
  const loaders = new Set(
    py.functions
      .filter(
        (fn) => direct.some((c) => fn.start <= c.start && c.end <= fn.end) && /\breturn\b/.test(fn.body.text),
      )
      .map((fn) => fn.name),
  );
  const local = py.calls.filter(
    (c) =>
      c.method !== undefined &&
      ((!c.imported && loaders.has(c.method)) ||
        (c.callee.type === "identifier" && LOADER_NAME.test(c.method))),
  );
  return [...direct, ...local].sort((a, b) => a.start - b.start);
}

export interface ConfigName {
  /** `cfg`, `self.cfg`, or a section alias such as `train_cfg`. */
  name: string;
  /** Where it is bound. */
  at: Node;
  /** True for the loaded document itself, false for a section of it. */
  whole: boolean;
}

const SECTION = /^([A-Za-z_][\w.]*)\s*(\[\s*["'](\w+)["']\s*\]|\.get\(\s*["'](\w+)["'][^)]*\)|\.(\w+))$/;

/** Names bound to a loaded YAML config (`cfg = yaml.safe_load(f)`, `cfg = EasyDict(load(p))`) or to a section of one. */
export function configNames(py: PythonModel): ConfigName[] {
  const out: ConfigName[] = [];
  for (const call of configLoads(py)) {
    const a = assignmentOf(py, call);
    if (a?.targets.length !== 1 || !/^(self\.)?[A-Za-z_]\w*$/.test(a.targets[0])) continue;
    if (!out.some((c) => c.name === a.targets[0])) out.push({ name: a.targets[0], at: a.node, whole: true });
  }
  if (out.length === 0) return out;
  // Sections: `train_cfg = cfg["train"]`, `model_cfg = cfg.model`.
  for (const a of py.assignments) {
    if (a.op !== "=" || a.targets.length !== 1 || !a.value) continue;
    const m = SECTION.exec(a.value.text.replace(/\s+/g, " ").trim());
    if (!m || !out.some((c) => c.name === m[1] && c.whole)) continue;
    if (!out.some((c) => c.name === a.targets[0])) out.push({ name: a.targets[0], at: a.node, whole: false });
  }
  return out;
}

const DICT_METHODS = new Set([
  "get",
  "items",
  "keys",
  "values",
  "update",
  "pop",
  "setdefault",
  "copy",
  "to_dict",
]);

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Value keys read from the config names, with the line of the first read: `cfg["lr"]`, `cfg.get("lr")`, `cfg.train.lr`. */
export function configKeys(text: string, names: readonly ConfigName[]): Map<string, number> {
  const out = new Map<string, number>();
  // Guarded overrides (`if args.x is not None: cfg["x"] = args.x`), used when the key is read nowhere else.
  const overridden = new Map<string, number>();
  if (names.length === 0) return out;
  const alternatives = names.map((n) => escapeRegex(n.name)).join("|");
  const chain = new RegExp(
    `(?<![\\w.])(?:${alternatives})((?:\\[\\s*["']\\w+["']\\s*\\]|\\.get\\(\\s*["']\\w+["']|\\.[A-Za-z_]\\w*)+)`,
    "g",
  );
  const part = /\[\s*["'](\w+)["']\s*\]|\.get\(\s*["'](\w+)["']|\.([A-Za-z_]\w*)/g;
  for (const m of text.matchAll(chain)) {
    // Only the last key is a value; the ones before it are sections (`cfg["optim"]["lr"]`).
    const keys = [...m[1].matchAll(part)]
      .map((p) => p[1] ?? p[2] ?? p[3])
      .filter((k) => k && !DICT_METHODS.has(k));
    const key = keys.at(-1);
    if (!key || out.has(key)) continue;
    const line = text.slice(0, m.index).split("\n").length;
    // `cfg["log_name"] = args.log_name` writes the key from the command line: the CLI is its only
    // source. Unless it is the override of a value the config holds (`if args.x is not None:` above).
    const after = text.slice(m.index + m[0].length, m.index + m[0].length + 8);
    if (/^\s*=(?!=)/.test(after)) {
      const previous = text.split("\n")[line - 2] ?? "";
      if (
        new RegExp(`^\\s*if\\s+[\\w.]+\\.${key}\\s+is\\s+not\\s+None\\s*:`).test(previous) &&
        !overridden.has(key)
      )
        overridden.set(key, line);
      continue;
    }
    out.set(key, line);
  }
  for (const [key, line] of overridden) if (!out.has(key)) out.set(key, line);
  return out;
}

// ---- command-line options ----------------------------------------------------------------------

export interface CliOption {
  /** The Python-side name: `learning_rate` for `--learning-rate`. */
  key: string;
  /** How the user spells it. */
  flag: string;
  /** The default, when one other than None is given. */
  default?: Node;
  /** What to report on. */
  node: Node;
}

const FLAG_ACTIONS = /^(store_true|store_false|store_const|count|append_const|help|version)$/;

/** `parser.add_argument("--lr", default=1e-3)`, with the option's destination name. */
function argparseOptions(py: PythonModel): CliOption[] {
  if (!py.importsModule("argparse")) return [];
  const out: CliOption[] = [];
  for (const call of py.methodCalls("add_argument")) {
    const names = call.args.map((a) => stringValue(a)).filter((s): s is string => s !== undefined);
    const long = names.find((n) => n.startsWith("--")) ?? names.find((n) => !n.startsWith("-"));
    if (!long) continue;
    const action = stringValue(call.arg("action"));
    if (action && FLAG_ACTIONS.test(action)) continue;
    const dest = stringValue(call.arg("dest")) ?? long.replace(/^-+/, "").replace(/-/g, "_");
    out.push({ key: dest, flag: long, default: nonNone(call.arg("default")), node: call.node });
  }
  return out;
}

/** `@click.option("--lr", default=1e-3)`. */
function clickOptions(py: PythonModel): CliOption[] {
  const out: CliOption[] = [];
  for (const call of py.callsTo("click.option").filter((c) => c.imported)) {
    if (literal(call.arg("is_flag"))?.kind === "bool") continue;
    const names = call.args.map((a) => stringValue(a)).filter((s): s is string => s !== undefined);
    const explicit = names.find((n) => /^[A-Za-z_]\w*$/.test(n));
    const long = names.find((n) => n.startsWith("--"));
    if (!long && !explicit) continue;
    const key = explicit ?? long!.replace(/^-+/, "").replace(/-/g, "_");
    out.push({ key, flag: long ?? key, default: nonNone(call.arg("default")), node: call.node });
  }
  return out;
}

/** Functions Typer turns into commands: `@app.command()`, `@app.callback()`, `typer.run(main)`. */
export function typerCommands(py: PythonModel): FunctionDef[] {
  if (!py.importsModule("typer")) return [];
  const run = new Set(py.callsTo("typer.run").flatMap((c) => (c.args[0] ? [c.args[0].text] : [])));
  return py.functions.filter(
    (fn) =>
      run.has(fn.name) ||
      fn.decorators.some((d) => /\.(command|callback)$/.test(d) && !d.startsWith("click.")),
  );
}

/** Click commands: functions decorated with `@click.command()` / `@<group>.command()` and click options. */
function clickCommands(py: PythonModel): FunctionDef[] {
  return py.functions.filter((fn) =>
    fn.decorators.some((d) => d === "click.option" || d === "click.command"),
  );
}

function typerOptions(py: PythonModel): CliOption[] {
  const out: CliOption[] = [];
  for (const fn of typerCommands(py)) {
    for (const p of fn.explicitParams) {
      let value = p.default;
      if (value?.type === "call") {
        const callee = py.resolve(value.childForFieldName("function") ?? value);
        if (callee !== "typer.Option" && callee !== "typer.Argument") continue;
        const args = value.childForFieldName("arguments");
        const kw = args?.namedChildren.find(
          (c) => c?.type === "keyword_argument" && c.childForFieldName("name")?.text === "default",
        );
        value =
          kw?.childForFieldName("value") ??
          args?.namedChildren.find((c) => c?.type !== "keyword_argument") ??
          undefined;
      }
      if (!value || value.type === "ellipsis") continue;
      const flag = `--${p.name.replace(/_/g, "-")}`;
      out.push({ key: p.name, flag, default: nonNone(value), node: p.node });
    }
  }
  return out;
}

function nonNone(node: Node | null | undefined): Node | undefined {
  if (!node || node.type === "none") return undefined;
  if (dotted(node) === "argparse.SUPPRESS" || node.text === "SUPPRESS") return undefined;
  return node;
}

/** Every command-line option the file defines, through argparse, click or Typer. */
export function cliOptions(py: PythonModel): CliOption[] {
  return [...argparseOptions(py), ...clickOptions(py), ...typerOptions(py)];
}

/**
 * Names that hold command-line values: the result of `parse_args()`, Typer and click command
 * parameters, and OmegaConf's CLI readers.
 */
const ARGS_HELPER = /^_?(get|parse)_?(args|arguments|opts?|options|cli_args)$/i;

export function cliNames(py: PythonModel): Set<string> {
  const out = new Set<string>();
  const parses = [
    ...py.methodCalls("parse_args", "parse_known_args"),
    ...py.callsTo("omegaconf.OmegaConf.from_cli", "omegaconf.OmegaConf.from_dotlist"),
  ];
  // Wrappers: `def get_args(): ...; return parser.parse_args()`, or one imported under such a name.
  const wrappers = new Set(
    py.functions.filter((fn) => parses.some((c) => isWithin(c, fn.body))).map((fn) => fn.name),
  );
  const wrapped = py.calls.filter(
    (c) => c.method !== undefined && (wrappers.has(c.method) || ARGS_HELPER.test(c.method)),
  );
  for (const call of [...parses, ...wrapped]) {
    const a = assignmentOf(py, call);
    const first = a?.targets[0];
    if (first && /^[A-Za-z_]\w*$/.test(first)) out.add(first);
  }
  for (const fn of [...typerCommands(py), ...clickCommands(py)])
    for (const p of fn.explicitParams) out.add(p.name);
  // Hand-parsed overrides: `overrides = sys.argv[1:]`.
  for (const a of py.assignments) {
    if (
      a.targets.length === 1 &&
      /^[A-Za-z_]\w*$/.test(a.targets[0]) &&
      a.value &&
      /\bsys\.argv\b/.test(a.value.text)
    )
      out.add(a.targets[0]);
  }
  return out;
}
