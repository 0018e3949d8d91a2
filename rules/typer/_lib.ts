import type { Node } from "web-tree-sitter";
import type { CallSite, FunctionDef, Param, PythonModel } from "../../src/engine/python/model.js";

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
