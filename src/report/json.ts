import type { ReviewResult } from "../engine/types.js";

/** The CLI's JSON output: `{"findings":[…],"files":N,"skipped":[…]}` (paths as given). */
export function formatJson(result: ReviewResult): string {
  return `${JSON.stringify(
    {
      findings: result.findings.map((f) => ({
        rule: f.rule,
        severity: f.severity,
        path: f.path,
        line: f.line,
        endLine: f.endLine,
        column: f.column,
        message: f.message,
        fingerprint: f.fingerprint,
        ...(f.fix ? { fix: { description: f.fix.description, replacement: f.fix.replacement } } : {}),
      })),
      files: result.files,
      skipped: result.skipped,
      ...(result.notes.length ? { notes: result.notes } : {}),
    },
    null,
    2,
  )}\n`;
}
