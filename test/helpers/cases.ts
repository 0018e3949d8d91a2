import { Engine } from "../../src/engine/engine.js";
import type { RuleCase, RuleMeta } from "../../src/engine/rule.js";
import type { Finding, ReviewOptions } from "../../src/engine/types.js";

const EXPECT = /[ \t]*# expect\b[^\n]*$/;

/** The case's code with `# expect` markers removed, and the 1-based lines that carried one. */
export function prepareCase(code: string): { text: string; expected: number[] } {
  const expected: number[] = [];
  const text = code
    .split("\n")
    .map((line, i) => {
      if (!EXPECT.test(line)) return line;
      expected.push(i + 1);
      return line.replace(EXPECT, "");
    })
    .join("\n");
  return { text, expected };
}

let shared: Promise<Engine> | undefined;
export function sharedEngine(): Promise<Engine> {
  shared ??= Engine.create();
  return shared;
}

/** Runs one rule (and nothing else) on one case, in whole-file mode unless the case lists added lines. */
export async function runCase(
  engine: Engine,
  rule: RuleMeta,
  c: RuleCase,
): Promise<{ findings: Finding[]; expected: number[]; notes: string[] }> {
  const { text, expected } = prepareCase(c.code);
  const path = c.path ?? "case.py";
  const added = c.added ? new Set(c.added) : undefined;
  const options: ReviewOptions = {
    selection: new Map([[rule.id, { severity: rule.severity }]]),
    project: { manifests: new Map(Object.entries(c.manifests ?? {})) },
  };
  const result = await engine.review(
    [{ path, content: text, lines: added ? { added, commentable: added } : undefined }],
    options,
  );
  return {
    findings: result.findings.filter((f) => f.rule === rule.id),
    expected,
    notes: [...result.notes, ...result.skipped.map((s) => s.reason)],
  };
}

/** Rules to test: all, or those named in MLREVIEW_RULES (comma-separated ids or packs). */
export function rulesUnderTest(rules: RuleMeta[]): RuleMeta[] {
  const only = process.env.MLREVIEW_RULES?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (!only?.length) return rules;
  return rules.filter((r) => only.includes(r.id) || only.includes(r.pack));
}
