import { defineCheck } from "../../src/engine/rule.js";
import { appsWithoutVersion, groupsWithoutCallback, looksInstalled } from "./_lib.js";

export default defineCheck((ctx) => {
  const apps = appsWithoutVersion(ctx);
  if (apps.length === 0) return;
  // A CLI that does not look installed (no scripts entry, no `__version__`) and also lacks a
  // callback for its subcommands gets one comment: `typer/no-callback-with-subcommands` names
  // the `--version` option in its message.
  const folded = looksInstalled(ctx)
    ? new Set<string>()
    : new Set(groupsWithoutCallback(ctx.py).map((g) => g.app.name));
  for (const app of apps) {
    if (folded.has(app.name)) continue;
    ctx.report(app.call, {
      message:
        `The \`${app.name}\` CLI has no \`--version\` option, so users (and bug reports) cannot tell which release they are running. ` +
        'Add an eager option to the app callback, e.g. `version: Annotated[Optional[bool], typer.Option("--version", callback=show_version, is_eager=True)] = None`, ' +
        "where `show_version` prints `importlib.metadata.version(...)` and raises `typer.Exit()`.",
    });
  }
});
