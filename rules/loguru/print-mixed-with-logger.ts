import { isTestPath } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { logCalls } from "./_lib.js";

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  // Printing into a file object is writing output, not logging.
  const prints = py.calls.filter((c) => c.name === "print" && !c.imported && !c.keywords.has("file"));
  const added = prints.filter((p) => ctx.isAdded(p.line));
  if (added.length === 0) return;
  const logs = logCalls(py);
  if (logs.length === 0) return;
  const more =
    added.length > 1
      ? ` (and ${added.length - 1} more print${added.length > 2 ? "s" : ""} in this file)`
      : "";
  ctx.report(added[0], {
    message:
      `This file logs through a logger (line ${logs[0].line}) but also prints${more}. Printed lines skip the ` +
      "logger's level, format, sinks and files, so they go missing from captured logs. Use the logger here " +
      "(e.g. `logger.info(...)`).",
  });
});
