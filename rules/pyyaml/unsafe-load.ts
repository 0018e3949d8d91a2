import { stringValue } from "../../src/engine/python/helpers.js";
import { type CheckContext, defineCheck } from "../../src/engine/rule.js";
import { flaggedByUnsafeLoad } from "./_lib.js";

const MISSING =
  "`yaml.load` without a `Loader` raises TypeError on PyYAML 6, and before PyYAML 5.1 it used the unsafe loader, " +
  "which can run code named in the file. Use `yaml.safe_load(...)`.";

export default defineCheck((ctx) => {
  const { py } = ctx;
  for (const call of py.callsTo(
    "yaml.load",
    "yaml.load_all",
    "yaml.unsafe_load",
    "yaml.unsafe_load_all",
    "yaml.full_load",
    "yaml.full_load_all",
  )) {
    // The same test `pyyaml/untrusted-config-source` uses to leave the loader advice to this rule
    // (it also skips a local ruamel object named `yaml` that shadows the module).
    if (!flaggedByUnsafeLoad(call, py)) continue;
    const method = call.name!.slice("yaml.".length);
    const safeName = method.endsWith("_all") ? "safe_load_all" : "safe_load";
    const isLoad = method === "load" || method === "load_all";
    const loader = isLoad ? call.arg("Loader", 1) : undefined;
    let message: string | undefined;
    if (isLoad) {
      if (!loader) message = MISSING;
      else {
        message =
          (py.resolve(loader)!.includes("Full")
            ? `\`${loader.text}\` builds Python objects, not just plain data, from tags in the file, and FullLoader had code-execution CVEs before PyYAML 5.4`
            : `\`${loader.text}\` can build arbitrary Python objects from tags in the file, so loading an untrusted file can run code`) +
          `. Use \`yaml.${safeName}(...)\` or \`Loader=yaml.SafeLoader\`.`;
      }
    } else {
      message = method.startsWith("full_")
        ? `\`yaml.${method}\` uses FullLoader, which builds Python objects, not just plain data, from tags in the file and had code-execution CVEs before PyYAML 5.4. Use \`yaml.${safeName}(...)\` for config and data files.`
        : `\`yaml.${method}\` builds arbitrary Python objects from tags in the file, so loading an untrusted file can run code. Use \`yaml.${safeName}(...)\` for config and data files.`;
    }
    // A mechanical rewrite is safe for `<alias>.<method>(stream)` plus, at most, the Loader argument.
    const attr = call.callee.type === "attribute" ? call.callee.childForFieldName("attribute") : null;
    const keywords = [...call.keywords.keys()];
    const streamOnly =
      !call.hasSplat &&
      ((call.args.length === 1 && keywords.every((k) => k === "Loader")) ||
        (call.args.length === 2 && keywords.length === 0 && loader === call.args[1]));
    const fix =
      attr && streamOnly
        ? {
            description: `use yaml.${safeName}`,
            edits: [
              { at: attr, text: safeName },
              { at: call.argsNode, text: `(${call.args[0].text})` },
            ],
          }
        : undefined;
    ctx.report(call, { message, fix });
  }
  ruamelUnsafe(ctx);
});

/**
 * ruamel.yaml: `YAML(typ="unsafe").load(...)` (the object may be bound to a name first), and the
 * pre-0.18 module functions `ruamel.yaml.load(...)` with no loader or an unsafe one.
 */
function ruamelUnsafe(ctx: CheckContext): void {
  const { py } = ctx;
  if (!py.importsModule("ruamel")) return;
  const unsafeObjects = new Set<string>();
  const unsafeCalls = py.callsTo("ruamel.yaml.YAML").filter((c) => {
    const typ = stringValue(c.arg("typ", 0));
    return typ === "unsafe";
  });
  for (const c of unsafeCalls) {
    const parent = c.node.parent;
    if (parent?.type === "assignment" && parent.childForFieldName("right")?.id === c.node.id) {
      const name = parent.childForFieldName("left")?.text.replace(/\s+/g, "");
      if (name) unsafeObjects.add(name);
    }
  }
  const message =
    '`YAML(typ="unsafe")` builds arbitrary Python objects from tags in the file, so loading an untrusted file can run code. ' +
    'Use `YAML(typ="safe")` (or the default round-trip `YAML()`, which builds no arbitrary objects).';
  for (const call of py.methodCalls("load", "load_all")) {
    const recv = call.receiver;
    if (!recv) continue;
    const direct =
      recv.type === "call" && unsafeCalls.some((c) => c.start === recv.startIndex && c.end === recv.endIndex);
    if (direct || unsafeObjects.has(recv.text.replace(/\s+/g, ""))) ctx.report(call, { message });
  }
  for (const call of py.callsTo("ruamel.yaml.load", "ruamel.yaml.load_all")) {
    if (!call.imported || call.hasSplat) continue;
    const loader = call.arg("Loader", 1);
    const name = loader ? py.resolve(loader) : undefined;
    if (loader && !(name && /^ruamel\.yaml\.(?:Loader|UnsafeLoader|CLoader)$/.test(name))) continue;
    ctx.report(call, {
      message:
        "`ruamel.yaml.load` " +
        (loader ? `with \`${loader.text}\`` : "without a `Loader`") +
        " builds arbitrary Python objects from tags in the file (and the function is gone in ruamel.yaml 0.18). " +
        'Use `YAML(typ="safe").load(...)`.',
    });
  }
}
