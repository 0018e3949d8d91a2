import { defineCheck } from "../../src/engine/rule.js";

const UNSAFE_LOADERS = [
  "Loader",
  "UnsafeLoader",
  "FullLoader",
  "CLoader",
  "CUnsafeLoader",
  "CFullLoader",
].map((l) => `yaml.${l}`);
const SAFE_LOADERS = ["SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"].map((l) => `yaml.${l}`);

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
    const method = call.name!.slice("yaml.".length);
    const safeName = method.endsWith("_all") ? "safe_load_all" : "safe_load";
    const isLoad = method === "load" || method === "load_all";
    const loader = isLoad ? call.arg("Loader", 1) : undefined;
    let message: string | undefined;
    if (isLoad) {
      if (call.hasSplat && !loader) continue;
      if (!loader) message = MISSING;
      else {
        const name = py.resolve(loader);
        if (name === undefined || SAFE_LOADERS.includes(name) || !UNSAFE_LOADERS.includes(name)) continue;
        message =
          (name.includes("Full")
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
});
