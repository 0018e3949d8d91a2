import { boolValue, isTestPath, stringValue } from "../../src/engine/python/helpers.js";
import type { PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { cliParams, commands, subApps, typerApps } from "./_lib.js";

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

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path) || notInstalled(ctx.project.manifests)) return;
  const apps = typerApps(py);
  if (apps.length === 0) return;
  // A `--version` option anywhere in the file: an eager option, a `version` parameter, or the flag's name.
  if (
    py.calls.some((c) => c.imported && c.is("typer.Option") && boolValue(c.keywords.get("is_eager")) === true)
  )
    return;
  for (const cmd of commands(py)) {
    if (cmd.kind === "command" && cmd.fn.name === "version") return;
    for (const p of cliParams(py, cmd.fn)) {
      if (VERSION_PARAM.test(p.param.name)) return;
      if (p.info?.args.some((a) => /^--version\b/.test(stringValue(a) ?? ""))) return;
    }
  }
  const mounted = subApps(py);
  const cmds = commands(py);
  for (const app of apps) {
    if (mounted.has(app.name) || !isRootApp(py, app.name, cmds, ctx.project.manifests)) continue;
    ctx.report(app.call, {
      message:
        `The \`${app.name}\` CLI has no \`--version\` option, so users (and bug reports) cannot tell which release they are running. ` +
        'Add an eager option to the app callback, e.g. `version: Annotated[Optional[bool], typer.Option("--version", callback=show_version, is_eager=True)] = None`, ' +
        "where `show_version` prints `importlib.metadata.version(...)` and raises `typer.Exit()`.",
    });
  }
});
