import { closest, literal } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";

const DUMPS = ["yaml.dump", "yaml.safe_dump", "yaml.dump_all", "yaml.safe_dump_all"];
// Output that goes straight to a terminal or a log line is read once, never diffed: compact flow
// style is a fair choice there.
const DISPLAY =
  /^(print|echo|secho|debug|info|warning|warn|error|critical|exception|log|write_line|code|text|markdown)$/;

export default defineCheck((ctx) => {
  const { py } = ctx;
  for (const call of py.callsTo(...DUMPS)) {
    if (!call.imported) continue;
    const value = call.keywords.get("default_flow_style");
    if (!value) continue;
    const lit = literal(value);
    if (!(lit?.kind === "bool" && lit.value) && lit?.kind !== "none") continue;
    const outer = call.node.parent ? closest(call.node.parent, "call") : undefined;
    const outerMethod = outer?.childForFieldName("function")?.text.split(".").pop();
    if (outerMethod && DISPLAY.test(outerMethod)) continue;
    const written = lit.kind === "none" ? "`None`" : "`True`";
    const detail =
      lit.kind === "none"
        ? "`default_flow_style=None` writes every list and mapping of plain values on one line"
        : "`default_flow_style=True` writes the whole document in flow style";
    ctx.report(value.parent ?? value, {
      message:
        `${detail}, so changing one entry rewrites a long line and config diffs become hard to review. ` +
        `Drop the argument (PyYAML writes block style by default since 5.1) or pass \`default_flow_style=False\` instead of ${written}.`,
      fix: { description: "write block style", edits: [{ at: value, text: "False" }] },
    });
  }
});
