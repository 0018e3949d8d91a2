import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { Fates, flaggedByUnsafeLoad, loadedStream, Sources, yamlLoads } from "./_lib.js";

const UNSAFE_LOADERS = [
  "yaml.Loader",
  "yaml.UnsafeLoader",
  "yaml.CLoader",
  "yaml.CUnsafeLoader",
  "yaml.loader.Loader",
  "yaml.loader.UnsafeLoader",
  "yaml.cyaml.CLoader",
  "yaml.cyaml.CUnsafeLoader",
];
const FULL_LOADERS = [
  "yaml.FullLoader",
  "yaml.CFullLoader",
  "yaml.loader.FullLoader",
  "yaml.cyaml.CFullLoader",
];
const UNSAFE_TEXT = "a loader that runs any tag (`!!python/object/apply` calls arbitrary functions)";
const FULL_TEXT =
  "`FullLoader`, which builds Python objects beyond plain data (it had code-execution CVEs before PyYAML 5.4)";

/** The kind of object-building loader a load call uses, or undefined for safe or unknown ones. */
function objectLoader(call: CallSite, py: PythonModel): string | undefined {
  if (call.is("yaml.unsafe_load", "yaml.unsafe_load_all")) return UNSAFE_TEXT;
  if (call.is("yaml.full_load", "yaml.full_load_all")) return FULL_TEXT;
  if (!call.is("yaml.load", "yaml.load_all")) return undefined;
  const loader = call.arg("Loader", 1);
  const name = loader ? py.resolve(loader) : undefined;
  if (name && UNSAFE_LOADERS.includes(name)) return UNSAFE_TEXT;
  if (name && FULL_LOADERS.includes(name)) return FULL_TEXT;
  return undefined;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const loads = yamlLoads(py);
  if (loads.length === 0) return;
  const sources = new Sources(py);
  const fates = new Fates(py);
  for (const call of loads) {
    const source = sources.of(loadedStream(call));
    if (!source) continue;
    // A loader that builds Python objects runs the attacker's tags while parsing: checking the
    // result afterwards is too late, whatever happens to it next.
    const unsafe = objectLoader(call, py);
    const fate = fates.ofLoad(call);
    // Validated, handed back to a caller, or not used here: nothing to say from this file.
    if (!unsafe && fate.kind !== "raw" && fate.kind !== "passed") continue;
    const origin =
      source.kind === "argv"
        ? "a path taken straight from `sys.argv`"
        : source.kind === "web"
          ? "data sent in a web request"
          : "a network response";
    // `pyyaml/unsafe-load` comments on the loader of this very call and names `yaml.safe_load`:
    // this message keeps to what the input's origin adds (who controls it, and validating it).
    if (flaggedByUnsafeLoad(call, py)) {
      const validated = fate.kind !== "raw" && fate.kind !== "passed";
      ctx.report(call, {
        message: validated
          ? `This YAML is parsed from ${origin}, so the loader problem on this line (\`pyyaml/unsafe-load\`) can be exploited by whoever ` +
            "controls that input: the objects its tags name are built while parsing, before the schema check that follows can reject anything. " +
            "Fix that first; the check after it is right and can stay."
          : `This YAML is parsed from ${origin} and used without any validation, so whoever controls that input decides the ` +
            "keys, types and values the code acts on (and, through the loader `pyyaml/unsafe-load` flags on this line, possibly the Python objects built while parsing). " +
            "Besides fixing the loader, check the result against a schema right after loading (a Pydantic model's `model_validate`, " +
            "a dataclass built with `**cfg`, or `jsonschema.validate`), so an unexpected key, type or value stops the run with a clear error.",
      });
      continue;
    }
    if (unsafe) {
      ctx.report(call, {
        message:
          `This YAML is parsed from ${origin} with ${unsafe}, so whoever controls that input picks the Python ` +
          "objects built while it is parsed; validating the result afterwards comes too late. Load it with " +
          "`yaml.safe_load`, then check it against a schema (a Pydantic model's `model_validate`, a dataclass " +
          "built with `**cfg`, `jsonschema.validate`).",
      });
      continue;
    }
    ctx.report(call, {
      message:
        `This YAML is parsed from ${origin} and used without any validation, so whoever controls that ` +
        "input decides the keys, types and values the code acts on. Check it against a schema right after " +
        "loading (a Pydantic model's `model_validate`, a dataclass built with `**cfg`, or `jsonschema.validate`), " +
        "and keep to `yaml.safe_load`.",
    });
  }
});
