import type { Finding, ReviewResult } from "../engine/types.js";

const LEVEL: Record<Finding["severity"], string> = { critical: "error", warn: "warning", style: "notice" };

// Workflow commands escape %, CR and LF in data, and also : and , in properties.
const escapeData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escapeProp = (s: string) => escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

/** GitHub Actions workflow commands: each finding becomes an annotation on the run. */
export function formatGithubActions(result: ReviewResult): string {
  const lines = result.findings.map(
    (f) =>
      `::${LEVEL[f.severity]} file=${escapeProp(f.path)},line=${f.line},endLine=${f.endLine},col=${f.column},title=${escapeProp(
        `${f.rule} (${f.severity})`,
      )}::${escapeData(f.message)}`,
  );
  return lines.length ? `${lines.join("\n")}\n` : "";
}
