import { defineCheck } from "../../src/engine/rule.js";
import { isFileSink, sinkAdds } from "./_lib.js";

export default defineCheck((ctx) => {
  const { py } = ctx;
  for (const add of sinkAdds(py)) {
    if (add.hasSplat || add.keywords.has("rotation") || add.keywords.has("retention")) continue;
    if (!isFileSink(py, add)) continue;
    ctx.report(add, {
      message:
        "This file sink has neither `rotation=` nor `retention=`, so the log file grows for as long as the job " +
        'runs and old files are never cleaned up. Add e.g. `rotation="100 MB", retention="14 days"`.',
    });
  }
});
