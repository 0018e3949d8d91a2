import { closest, isTestPath, literal } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";

const DUMPS = ["yaml.dump", "yaml.safe_dump", "yaml.dump_all", "yaml.safe_dump_all"];
// Output that goes straight to a terminal or a log line is read once, never diffed: compact flow
// style is a fair choice there.
const DISPLAY =
  /^(print|echo|secho|debug|info|warning|warn|error|critical|exception|log|write_line|code|text|markdown)$/;

// PyYAML's own dumpers; any other `Dumper=` is a custom one whose representers shape the output on purpose.
const STOCK_DUMPERS = ["yaml.Dumper", "yaml.SafeDumper", "yaml.CDumper", "yaml.CSafeDumper"];

export default defineCheck((ctx) => {
  const { py } = ctx;
  // Tests write throwaway files.
  if (isTestPath(ctx.path)) return;
  for (const call of py.callsTo(...DUMPS)) {
    if (!call.imported) continue;
    const value = call.keywords.get("default_flow_style");
    if (!value) continue;
    const lit = literal(value);
    if (!(lit?.kind === "bool" && lit.value) && lit?.kind !== "none") continue;
    const outer = call.node.parent ? closest(call.node.parent, "call") : undefined;
    const outerMethod = outer?.childForFieldName("function")?.text.split(".").pop();
    if (outerMethod && DISPLAY.test(outerMethod)) continue;
    // Written to the terminal.
    const stream = call.arg("stream", 1);
    if (stream && /^sys\.(stdout|stderr)$/.test(py.resolve(stream) ?? "")) continue;
    const dumper = call.keywords.get("Dumper");
    if (dumper && !STOCK_DUMPERS.includes(py.resolve(dumper) ?? "")) continue;
    if (hashedOnly(py, call)) continue;
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

/** `key = yaml.dump(cfg, default_flow_style=None)` that only feeds a hash (a run id, a file name). */
function hashedOnly(py: PythonModel, call: CallSite): boolean {
  const parent = call.node.parent;
  if (parent?.type !== "assignment" || parent.childForFieldName("right")?.id !== call.node.id) return false;
  const name = parent.childForFieldName("left")?.text;
  if (!name || !/^\w+$/.test(name)) return false;
  const fn = py.functionAt(call);
  const scope = fn ? fn.body : py.tree.rootNode;
  const uses = scope
    .descendantsOfType("identifier")
    .filter((n) => n !== null && n.text === name && n.startIndex > parent.endIndex);
  return (
    uses.length > 0 &&
    uses.every((n) => {
      const c = n ? closest(n, "call") : undefined;
      const site = c ? py.calls.find((x) => x.start === c.startIndex && x.end === c.endIndex) : undefined;
      // `hashlib.sha256(key.encode())`: the innermost call is `.encode()`, the hash wraps it.
      const outer = site?.method === "encode" && c?.parent ? closest(c.parent, "call") : c;
      const outerSite = outer
        ? py.calls.find((x) => x.start === outer.startIndex && x.end === outer.endIndex)
        : undefined;
      return outerSite?.imported === true && outerSite.is("hashlib.*", "zlib.crc32", "zlib.adler32");
    })
  );
}
