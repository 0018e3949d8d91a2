import type { RuleMeta } from "../engine/rule.js";
import type { Finding, ReviewResult } from "../engine/types.js";

const LEVEL: Record<Finding["severity"], "error" | "warning" | "note"> = {
  critical: "error",
  warn: "warning",
  style: "note",
};

export interface SarifOptions {
  rules: readonly RuleMeta[];
  version: string;
  docsBaseUrl: string;
}

/** SARIF 2.1.0, for code-scanning uploads and editors. */
export function formatSarif(result: ReviewResult, options: SarifOptions): string {
  const used = new Set(result.findings.map((f) => f.rule));
  const rules = options.rules.filter((r) => used.has(r.id));
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const log = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "mlreview",
            version: options.version,
            informationUri: "https://github.com/mlreview/mlreview",
            rules: rules.map((r) => ({
              id: r.id,
              name: r.name,
              shortDescription: { text: r.summary },
              fullDescription: { text: r.docs.what.trim() },
              help: { text: `${r.docs.why.trim()}\n\nFix:\n${r.docs.fix.trim()}` },
              helpUri: `${options.docsBaseUrl}/${r.pack}/${r.name}.md`,
              defaultConfiguration: { level: LEVEL[r.severity] },
              properties: { tags: [r.pack], severity: r.severity },
            })),
          },
        },
        results: result.findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: index.get(f.rule) ?? 0,
          level: LEVEL[f.severity],
          message: { text: f.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: f.path.split("/").map(encodeURIComponent).join("/") },
                region: { startLine: f.line, endLine: f.endLine, startColumn: f.column },
              },
            },
          ],
          partialFingerprints: { "mlreview/v1": f.fingerprint },
          ...(f.fix
            ? {
                fixes: [
                  {
                    description: { text: f.fix.description },
                    artifactChanges: [
                      {
                        artifactLocation: { uri: f.path.split("/").map(encodeURIComponent).join("/") },
                        replacements: f.fix.edits.map((e) => ({
                          deletedRegion: {
                            startLine: e.line,
                            startColumn: e.column,
                            endLine: e.endLine,
                            endColumn: e.endColumn,
                          },
                          insertedContent: { text: e.text },
                        })),
                      },
                    ],
                  },
                ],
              }
            : {}),
        })),
        invocations: [
          {
            executionSuccessful: true,
            toolExecutionNotifications: [
              ...result.skipped.map((s) => ({
                level: "note",
                message: { text: `skipped: ${s.reason}` },
                locations: [{ physicalLocation: { artifactLocation: { uri: s.path } } }],
              })),
              ...result.notes.map((n) => ({ level: "warning", message: { text: n } })),
            ],
          },
        ],
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
