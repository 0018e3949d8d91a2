import { defineCheck } from "../../src/engine/rule.js";
import { Fates, loadedStream, Sources, yamlLoads } from "./_lib.js";

export default defineCheck((ctx) => {
  const { py } = ctx;
  const loads = yamlLoads(py);
  if (loads.length === 0) return;
  const sources = new Sources(py);
  const fates = new Fates(py);
  for (const call of loads) {
    const source = sources.of(loadedStream(call));
    if (!source) continue;
    const fate = fates.ofLoad(call);
    // Validated, handed back to a caller, or not used here: nothing to say from this file.
    if (fate.kind !== "raw" && fate.kind !== "passed") continue;
    const origin =
      source.kind === "argv"
        ? "a path taken straight from `sys.argv`"
        : source.kind === "web"
          ? "data sent in a web request"
          : "a network response";
    ctx.report(call, {
      message:
        `This YAML is parsed from ${origin} and used without any validation, so whoever controls that ` +
        "input decides the keys, types and values the code acts on. Check it against a schema right after " +
        "loading (a Pydantic model's `model_validate`, a dataclass built with `**cfg`, or `jsonschema.validate`), " +
        "and keep to `yaml.safe_load`.",
    });
  }
});
