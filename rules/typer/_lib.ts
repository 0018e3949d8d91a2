import type { Node } from "web-tree-sitter";
import { boolValue, isTestPath, stringValue } from "../../src/engine/python/helpers.js";
import type { CallSite, FunctionDef, Param, PythonModel } from "../../src/engine/python/model.js";
import type { CheckContext } from "../../src/engine/rule.js";

// Shared by the typer checks: which objects are Typer apps, which functions are their commands
// and callbacks, and what each command parameter declares (type, default, Option/Argument call),
// in both the `typer.Option(default, ...)` style and the `Annotated[T, typer.Option(...)]` style.

export interface TyperApp {
  /** The name the app is bound to: `app`, `cli`. */
  name: string;
  /** The `typer.Typer(...)` call. */
  call: CallSite;
}

export interface Command {
  fn: FunctionDef;
  kind: "command" | "callback" | "run";
  /** The app it is registered on (undefined for `typer.run` and imported apps). */
  app?: string;
}

export interface CliParam {
  param: Param;
  fn: FunctionDef;
  /** The declared type with `Annotated[...]` unwrapped, as text (`str`, `Optional[Path]`). */
  type?: string;
  /** The `typer.Option(...)` / `typer.Argument(...)` call, in the default or in `Annotated`. */
  info?: CallSite;
  /** The parameter's default value: `typer.Option`'s first argument in the old style. */
  default?: Node;
}

const INFO_CALLS = ["typer.Option", "typer.Argument"];

/** `name = typer.Typer(...)` assignments. */
export function typerApps(py: PythonModel): TyperApp[] {
  const out: TyperApp[] = [];
  for (const call of py.callsTo("typer.Typer")) {
    if (!call.imported) continue;
    const parent = call.node.parent;
    if (parent?.type !== "assignment" || parent.childForFieldName("right")?.id !== call.node.id) continue;
    const target = parent.childForFieldName("left")?.text.replace(/\s+/g, "");
    if (target && /^(self\.)?[A-Za-z_]\w*$/.test(target)) out.push({ name: target, call });
  }
  return out;
}

/** Apps mounted under another one with `parent.add_typer(sub, ...)`: subcommand groups. */
export function subApps(py: PythonModel): Set<string> {
  const out = new Set<string>();
  for (const call of py.methodCalls("add_typer")) {
    const first = call.arg("typer_instance", 0);
    if (first) out.add(first.text.replace(/\s+/g, ""));
  }
  return out;
}

/** Functions registered as commands or callbacks of a Typer app, or run with `typer.run`. */
export function commands(py: PythonModel): Command[] {
  if (!py.importsModule("typer")) return [];
  const apps = new Set(typerApps(py).map((a) => a.name));
  const out: Command[] = [];
  const seen = new Set<FunctionDef>();
  const add = (fn: FunctionDef | undefined, kind: Command["kind"], app?: string) => {
    if (!fn || seen.has(fn)) return;
    seen.add(fn);
    out.push({ fn, kind, app });
  };
  const appOf = (receiver: string): { app?: string; ok: boolean } => {
    if (apps.has(receiver)) return { app: receiver, ok: true };
    // An app imported from the package's CLI module: `from .cli import app`.
    const root = receiver.split(".")[0];
    return { ok: py.imports.has(root) && !py.imports.get(root)!.startsWith("click") };
  };
  for (const fn of py.functions) {
    for (const d of fn.decoratorNodes) {
      const expr = d.namedChildren[0];
      const callee = expr?.type === "call" ? expr.childForFieldName("function") : expr;
      const m = /^(.+)\.(command|callback)$/.exec(callee?.text.replace(/\s+/g, "") ?? "");
      if (!m) continue;
      const { app, ok } = appOf(m[1]);
      if (ok) add(fn, m[2] as "command" | "callback", app);
    }
  }
  const byName = new Map(py.functions.filter((f) => !f.cls).map((f) => [f.name, f]));
  for (const call of py.calls) {
    // `app.command()(train)`, `app.command("fit")(train)`
    if (call.callee.type === "call" && call.args[0]?.type === "identifier") {
      const inner = call.callee.childForFieldName("function")?.text.replace(/\s+/g, "") ?? "";
      const m = /^(.+)\.(command|callback)$/.exec(inner);
      if (m && appOf(m[1]).ok) add(byName.get(call.args[0].text), m[2] as "command" | "callback", m[1]);
    } else if (call.imported && call.is("typer.run") && call.args[0]?.type === "identifier") {
      add(byName.get(call.args[0].text), "run");
    }
  }
  return out;
}

const ANNOTATED = /^(?:typing(?:_extensions)?\.)?Annotated\[\s*([\s\S]+)\]$/;

/** The parameters of a command, with what Typer reads from each. */
export function cliParams(py: PythonModel, fn: FunctionDef): CliParam[] {
  const params = fn.node.childForFieldName("parameters");
  if (!params) return [];
  const infos = py
    .within(py.calls, { start: params.startIndex, end: params.endIndex })
    .filter((c) => c.imported && c.is(...INFO_CALLS));
  const out: CliParam[] = [];
  for (const param of fn.explicitParams) {
    const span = { start: param.node.startIndex, end: param.node.endIndex };
    const info = infos.find((c) => span.start <= c.start && c.end <= span.end);
    const ann = param.annotation;
    let type = ann?.text;
    let inAnnotation = false;
    const m = type ? ANNOTATED.exec(type.trim()) : null;
    if (m && ann) {
      type = splitTop(m[1])[0];
      inAnnotation = info !== undefined && ann.startIndex <= info.start && info.end <= ann.endIndex;
    }
    let def = param.default;
    let option = info;
    if (info && !inAnnotation && def && def.startIndex === info.start) def = info.arg("default", 0);
    else if (!info && def?.type === "identifier") {
      // `EPOCHS = typer.Option(10, min=1)` at module level, then `epochs: int = EPOCHS`.
      const shared = sharedOption(py, def.text);
      if (shared) {
        option = shared;
        def = shared.arg("default", 0);
      }
    }
    out.push({ param, fn, type: type?.trim(), info: option, default: def });
  }
  return out;
}

function sharedOption(py: PythonModel, name: string): CallSite | undefined {
  const defs = py.assignments.filter(
    (a) => a.targets.length === 1 && a.targets[0] === name && py.isModuleLevel(a),
  );
  const value = defs.length === 1 ? defs[0].value : undefined;
  if (value?.type !== "call") return undefined;
  return py.calls.find(
    (c) => c.start === value.startIndex && c.end === value.endIndex && c.imported && c.is(...INFO_CALLS),
  );
}

/** `a, b[c, d], e` → [`a`, `b[c, d]`, `e`]. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of text) {
    if ("[(".includes(ch)) depth++;
    else if ("])".includes(ch)) depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => p.trim());
}

/** `str`, `Optional[str]`, `str | None`, `Union[str, None]`: the optional wrapper removed. */
export function baseType(type: string | undefined): string | undefined {
  if (!type) return undefined;
  const t = type.replace(/\s+/g, "");
  const opt = /^(?:typing\.)?Optional\[(.+)\]$/.exec(t);
  if (opt) return opt[1];
  const union = /^(?:typing\.)?Union\[(.+)\]$/.exec(t);
  const parts = union ? splitTop(union[1]) : t.includes("|") ? t.split("|") : [t];
  const rest = parts.filter((p) => p !== "None");
  return rest.length === 1 ? rest[0] : t;
}

// ---- shared by typer/missing-version-option and typer/no-callback-with-subcommands -------------
// Both land on `app = typer.Typer()` and both ask for an `@app.callback()`. When both apply to an
// app that does not look installed, `no-callback-with-subcommands` names the `--version` option in
// its message and `missing-version-option` stays silent for that app.

const VERSION_PARAM = /^(?:show_|print_)?version$/;
const ROOT_ONLY = /^(?:add_completion|pretty_exceptions_\w+)$/;

/**
 * True when the project's manifests are visible and none installs command-line scripts: a
 * research repository run as `python cli.py` (requirements files only, or a pyproject without
 * scripts). `setup.py` entry points are not visible here, so this errs towards silence.
 */
function notInstalled(manifests: ReadonlyMap<string, string>): boolean {
  if (manifests.size === 0) return false;
  for (const [path, text] of manifests) {
    if (
      /(^|\/)pyproject\.toml$/.test(path) &&
      /^\s*\[(project\.scripts|project\.gui-scripts|project\.entry-points[^\]]*|tool\.poetry\.scripts|tool\.flit\.scripts)\]/m.test(
        text,
      )
    )
      return false;
  }
  return true;
}

/**
 * The app users run, not a command group another module mounts: the file runs it, gives it a
 * callback, mounts groups on it, or a pyproject script points at it.
 */
function isRootApp(
  py: PythonModel,
  name: string,
  cmds: ReturnType<typeof commands>,
  manifests: ReadonlyMap<string, string>,
): boolean {
  if (py.calls.some((c) => c.callee.text === name)) return true;
  // Settings only the app that is run reads: shell completion and the traceback style.
  const app = typerApps(py).find((a) => a.name === name);
  if (app && [...app.call.keywords.keys()].some((k) => ROOT_ONLY.test(k))) return true;
  if (cmds.some((c) => c.kind === "callback" && c.app === name)) return true;
  if (py.calls.some((c) => c.method === "add_typer" && c.receiver?.text === name)) return true;
  for (const [path, text] of manifests) {
    if (/(^|\/)pyproject\.toml$/.test(path) && new RegExp(`:\\s*${name}\\b`).test(text)) return true;
  }
  return false;
}

const SCRIPTS_SECTION =
  /^\s*\[(project\.scripts|project\.gui-scripts|project\.entry-points[^\]]*|tool\.poetry\.scripts|tool\.flit\.scripts)\]|\bconsole_scripts\b/m;

/**
 * True when the CLI looks like an installed package: a pyproject declares scripts or entry points,
 * or the file or a manifest mentions `__version__` / `console_scripts`.
 */
export function looksInstalled(ctx: CheckContext): boolean {
  if (/\b__version__\b|\bconsole_scripts\b/.test(ctx.text)) return true;
  for (const [path, text] of ctx.project.manifests) {
    if (/\b__version__\b/.test(text)) return true;
    if (/(^|\/)pyproject\.toml$/.test(path) && SCRIPTS_SECTION.test(text)) return true;
  }
  return false;
}

/** True when the file declares a `--version` option: an eager option, a `version` parameter or command, the flag's name. */
function hasVersionOption(py: PythonModel): boolean {
  if (
    py.calls.some((c) => c.imported && c.is("typer.Option") && boolValue(c.keywords.get("is_eager")) === true)
  )
    return true;
  for (const cmd of commands(py)) {
    if (cmd.kind === "command" && cmd.fn.name === "version") return true;
    for (const p of cliParams(py, cmd.fn)) {
      // `version: str = "v1"` on a command picks a dataset or model version, not the tool's.
      if (VERSION_PARAM.test(p.param.name) && (cmd.kind === "callback" || !p.type || /\bbool\b/.test(p.type)))
        return true;
      if (p.info?.args.some((a) => /^--version\b/.test(stringValue(a) ?? ""))) return true;
    }
  }
  return false;
}

/** The apps `typer/missing-version-option` applies to: root apps of a file with no `--version` option. */
export function appsWithoutVersion(ctx: CheckContext): TyperApp[] {
  const { py } = ctx;
  if (isTestPath(ctx.path) || notInstalled(ctx.project.manifests)) return [];
  const apps = typerApps(py);
  if (apps.length === 0 || hasVersionOption(py)) return [];
  const mounted = subApps(py);
  const cmds = commands(py);
  return apps.filter((app) => !mounted.has(app.name) && isRootApp(py, app.name, cmds, ctx.project.manifests));
}

/** `no_args_is_help=True`, `invoke_without_command=True` or a `callback=`: the bare invocation is handled. */
function handlesBareInvocation(call: CallSite): boolean {
  if (call.hasSplat || call.keywords.has("callback")) return true;
  return (
    boolValue(call.keywords.get("no_args_is_help")) === true ||
    boolValue(call.keywords.get("invoke_without_command")) === true
  );
}

/** An app `typer/no-callback-with-subcommands` applies to, with its commands. */
export interface GroupWithoutCallback {
  app: TyperApp;
  /** Commands, mounted groups and registered imported commands. */
  count: number;
  /** Its commands defined in this file. */
  mine: Command[];
}

/** Apps with two or more subcommands and no callback, `no_args_is_help=True` or `invoke_without_command=True`. */
export function groupsWithoutCallback(py: PythonModel): GroupWithoutCallback[] {
  const apps = typerApps(py);
  if (apps.length === 0) return [];
  const cmds = commands(py);
  const out: GroupWithoutCallback[] = [];
  for (const app of apps) {
    if (handlesBareInvocation(app.call)) continue;
    if (cmds.some((c) => c.kind === "callback" && c.app === app.name)) continue;
    const mine = cmds.filter((c) => c.kind === "command" && c.app === app.name);
    const groups = py.calls.filter((c) => c.method === "add_typer" && c.receiver?.text === app.name);
    // `app.command(name="train")(train_command)` with a function imported from another module.
    const local = new Set(mine.map((c) => c.fn.name));
    const registered = py.calls.filter(
      (c) =>
        c.callee.type === "call" &&
        c.args[0]?.type === "identifier" &&
        !local.has(c.args[0].text) &&
        c.callee.childForFieldName("function")?.text.replace(/\s+/g, "") === `${app.name}.command`,
    );
    const count = mine.length + groups.length + registered.length;
    if (count < 2) continue;
    // Mounted as a group with its own no-args handling: `parent.add_typer(app, no_args_is_help=True)`.
    const mounts = py.calls.filter(
      (c) => c.method === "add_typer" && c.arg("typer_instance", 0)?.text === app.name,
    );
    if (mounts.some(handlesBareInvocation)) continue;
    out.push({ app, count, mine });
  }
  return out;
}
