import type { Node } from "web-tree-sitter";
import type { CallSite } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { appsWithoutVersion, groupsWithoutCallback, looksInstalled } from "./_lib.js";

export default defineCheck((ctx) => {
  const { py } = ctx;
  const groups = groupsWithoutCallback(py);
  if (groups.length === 0) return;
  // Apps `typer/missing-version-option` stays silent on because this message names the option.
  const foldVersion = looksInstalled(ctx)
    ? new Set<string>()
    : new Set(appsWithoutVersion(ctx).map((a) => a.name));
  for (const { app, count, mine } of groups) {
    const message =
      `\`${app.name}\` has ${count} subcommands but no \`@${app.name}.callback()\` and no \`no_args_is_help=True\`: run with no arguments it only prints a usage line and "Missing command"${app.call.keywords.has("help") ? "" : ", and `--help` has no description of the app"}. ` +
      `Pass \`no_args_is_help=True\` to \`typer.Typer(...)\`, or add an \`@${app.name}.callback()\` whose docstring describes the CLI` +
      (foldVersion.has(app.name)
        ? `. A callback is also the place for a \`--version\` option once the CLI is installed: an eager \`typer.Option("--version", callback=show_version, is_eager=True)\` whose callback prints \`importlib.metadata.version(...)\` and raises \`typer.Exit()\`.`
        : ".");
    if (ctx.isAdded(app.call.line)) {
      ctx.report(app.call, { message, fix: addNoArgsIsHelp(app.call) });
      continue;
    }
    // The Typer() line is old: comment on the command this change adds.
    const added = mine
      .flatMap((c) => c.fn.decoratorNodes)
      .find((d: Node) => /\.command\b/.test(d.text) && ctx.isAdded(d.startPosition.row + 1));
    if (added) ctx.report(added, { message });
  }
});

function addNoArgsIsHelp(call: CallSite) {
  const args = call.argsNode;
  const items = args.namedChildren.filter((c) => c !== null && c.type !== "comment");
  const last = items[items.length - 1];
  const edit = last
    ? { at: { start: last.endIndex, end: last.endIndex }, text: ", no_args_is_help=True" }
    : { at: args, text: "(no_args_is_help=True)" };
  return { description: "show help when run without a command", edits: [edit] };
}
