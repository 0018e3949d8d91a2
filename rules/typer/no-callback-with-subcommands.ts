import type { Node } from "web-tree-sitter";
import { boolValue } from "../../src/engine/python/helpers.js";
import type { CallSite } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { commands, typerApps } from "./_lib.js";

/** `no_args_is_help=True`, `invoke_without_command=True` or a `callback=`: the bare invocation is handled. */
function handlesBareInvocation(call: CallSite): boolean {
  if (call.hasSplat || call.keywords.has("callback")) return true;
  return (
    boolValue(call.keywords.get("no_args_is_help")) === true ||
    boolValue(call.keywords.get("invoke_without_command")) === true
  );
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const apps = typerApps(py);
  if (apps.length === 0) return;
  const cmds = commands(py);
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
    const message =
      `\`${app.name}\` has ${count} subcommands but no \`@${app.name}.callback()\` and no \`no_args_is_help=True\`: run with no arguments it only prints a usage line and "Missing command"${app.call.keywords.has("help") ? "" : ", and `--help` has no description of the app"}. ` +
      `Pass \`no_args_is_help=True\` to \`typer.Typer(...)\`, or add an \`@${app.name}.callback()\` whose docstring describes the CLI.`;
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
