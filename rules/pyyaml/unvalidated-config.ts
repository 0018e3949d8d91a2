import { isTestPath } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { Fates, isSafeSingleLoad, loadedStream, Sources, yamlLoads } from "./_lib.js";

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  const loads = yamlLoads(py).filter((c) => isSafeSingleLoad(c, py));
  if (loads.length === 0) return;
  const sources = new Sources(py);
  const fates = new Fates(py);
  for (const call of loads) {
    const fate = fates.ofLoad(call);
    if (fate.kind !== "raw") continue;
    // Untrusted input is pyyaml/untrusted-config-source's finding; one comment per line is enough.
    if (sources.of(loadedStream(call))) continue;
    const access = fate.at.text.replace(/\s+/g, " ");
    const shown = access.length <= 40 ? `\`${access}\`` : "subscripts and `.get`";
    ctx.report(call, {
      message:
        `The loaded config is read as a plain dict (${shown}), so a missing key or a wrong type only ` +
        "fails later, far from the file that caused it. Validate it right after loading, for example " +
        "`TrainConfig(**cfg)` with a dataclass or `TrainConfig.model_validate(cfg)` with Pydantic.",
    });
  }
});
