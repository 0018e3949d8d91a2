import type { Finding, Severity, SkippedFile } from "../engine/types.js";
import { SEVERITIES } from "../engine/types.js";
import { capMarkdown, codeSpan, escapeMarkdown } from "./escape.js";

/** GitHub's limit on a check run's `output.summary` and `output.text`. */
export const MAX_SUMMARY_CHARS = 65_535;
/** GitHub takes at most 50 annotations per create or update request. */
export const ANNOTATIONS_PER_REQUEST = 50;

export interface Annotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: "failure" | "warning" | "notice";
  title: string;
  message: string;
}

const LEVEL: Record<Severity, Annotation["annotation_level"]> = {
  critical: "failure",
  warn: "warning",
  style: "notice",
};

export function annotations(findings: readonly Finding[]): Annotation[] {
  return findings.map((f) => ({
    path: f.path,
    start_line: f.line,
    end_line: Math.max(f.line, f.endLine),
    annotation_level: LEVEL[f.severity],
    title: `${f.rule} (${f.severity})`.slice(0, 255),
    message: `${f.message}\n\n${f.docsUrl}`.slice(0, 60_000),
  }));
}

export interface CheckSummaryInput {
  findings: readonly Finding[];
  skipped: readonly SkippedFile[];
  notes: readonly string[];
  /** Files the review read. */
  files: number;
  /** Inline comments posted by this run, and findings left out of them by `max_comments`. */
  commented: number;
  overCap: number;
}

export function checkTitle(findings: readonly Finding[]): string {
  if (findings.length === 0) return "No findings";
  const counts = SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  return `${findings.length} finding${findings.length === 1 ? "" : "s"} (${counts.join(", ")})`;
}

/** The check run's summary: counts per severity and rule, skipped files, notes; within GitHub's limit. */
export function checkSummary(input: CheckSummaryInput): string {
  const { findings } = input;
  const out: string[] = [];
  out.push(
    `mlreview read ${input.files} file${input.files === 1 ? "" : "s"} and found ${findings.length} problem${findings.length === 1 ? "" : "s"}.`,
  );
  if (findings.length > 0) {
    out.push("", "| severity | findings |", "|---|---:|");
    for (const s of SEVERITIES) {
      const n = findings.filter((f) => f.severity === s).length;
      if (n > 0) out.push(`| ${s} | ${n} |`);
    }
    const byRule = new Map<string, { severity: Severity; count: number }>();
    for (const f of findings) {
      const r = byRule.get(f.rule) ?? { severity: f.severity, count: 0 };
      r.count++;
      byRule.set(f.rule, r);
    }
    out.push("", "| rule | severity | findings |", "|---|---|---:|");
    for (const [rule, r] of [...byRule].sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]))) {
      out.push(`| ${codeSpan(rule)} | ${r.severity} | ${r.count} |`);
    }
  }
  if (input.commented > 0 || input.overCap > 0) {
    out.push("", `${input.commented} inline comment${input.commented === 1 ? "" : "s"} posted.`);
    if (input.overCap > 0) {
      out.push(
        `${input.overCap} more finding${input.overCap === 1 ? " is" : "s are"} over \`max_comments\` and only shown here, as annotations.`,
      );
    }
  }
  if (input.skipped.length > 0) {
    out.push("", "### Skipped files", "");
    for (const s of input.skipped) out.push(`- ${codeSpan(s.path)}: ${escapeMarkdown(s.reason)}`);
  }
  if (input.notes.length > 0) {
    out.push("", "### Notes", "");
    for (const n of input.notes) out.push(`- ${n}`);
  }
  return capMarkdown(out.join("\n"), MAX_SUMMARY_CHARS);
}
