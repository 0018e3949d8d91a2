import type { Finding, ReviewResult } from "../engine/types.js";

const TAG: Record<Finding["severity"], string> = { critical: "critical", warn: "warn", style: "style" };

export interface TextOptions {
  color?: boolean;
}

/** What a person wants to read in a terminal: grouped by file, each finding with its line. */
export function formatText(result: ReviewResult, options: TextOptions = {}): string {
  const paint = (code: number, s: string) => (options.color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const sevColor: Record<Finding["severity"], number> = { critical: 31, warn: 33, style: 36 };
  const out: string[] = [];
  const byFile = new Map<string, Finding[]>();
  for (const f of result.findings) {
    const list = byFile.get(f.path) ?? [];
    list.push(f);
    byFile.set(f.path, list);
  }
  for (const [path, findings] of byFile) {
    out.push(paint(1, path));
    for (const f of findings) {
      const where = `${f.line}:${f.column}`.padEnd(7);
      out.push(
        `  ${where} ${paint(sevColor[f.severity], `[${TAG[f.severity]}]`)} ${paint(2, f.rule)}  ${f.message}`,
      );
      if (f.snippet) out.push(`          ${paint(2, "│")} ${f.snippet}`);
      if (f.fix)
        out.push(`          ${paint(32, `fix: ${f.fix.description}`)} → ${f.fix.replacement.text.trim()}`);
    }
    out.push("");
  }
  for (const s of result.skipped) out.push(paint(2, `skipped ${s.path}: ${s.reason}`));
  for (const n of result.notes) out.push(paint(2, `note: ${n}`));
  const counts = (["critical", "warn", "style"] as const)
    .map((s) => [s, result.findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  const files = `${result.files} file${result.files === 1 ? "" : "s"} reviewed`;
  out.push(counts.length ? `${counts.join(", ")} in ${files}.` : `No findings in ${files}.`);
  return `${out.join("\n")}\n`;
}
