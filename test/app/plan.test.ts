import { describe, expect, it } from "vitest";
import { planComments } from "../../src/app/review.js";
import { DEFAULT_CONFIG } from "../../src/config/types.js";
import type { Finding } from "../../src/engine/types.js";

const f = (over: Partial<Finding>): Finding => ({
  rule: "a/b",
  severity: "critical",
  path: "x.py",
  line: 3,
  endLine: 3,
  column: 1,
  message: "m",
  fingerprint: `fp${over.line ?? 3}${over.rule ?? ""}`.replace(/[^0-9a-f]/g, "a").padEnd(20, "0"),
  snippet: "",
  docsUrl: "https://example.com/a/b",
  ...over,
});

const diffs = new Map([["x.py", { added: new Set([3, 4, 5]), commentable: new Set([2, 3, 4, 5, 6]) }]]);

describe("inline comments", () => {
  it("puts findings on one line in one comment and anchors only inside the hunks", () => {
    const plan = planComments(
      [
        f({ rule: "a/b" }),
        f({ rule: "c/d", severity: "warn", fingerprint: "b".repeat(20) }),
        f({ line: 40, fingerprint: "c".repeat(20) }),
      ],
      diffs,
      DEFAULT_CONFIG,
      new Set(),
    );
    expect(plan.comments).toHaveLength(1);
    expect(plan.comments[0].line).toBe(3);
    expect(plan.comments[0].body).toContain("`a/b`");
    expect(plan.comments[0].body).toContain("`c/d`");
  });

  it("covers a multi-line fix's lines with the comment so its suggestion replaces exactly them", () => {
    const fix = { description: "d", edits: [], replacement: { startLine: 3, endLine: 5, text: "a\nb\nc" } };
    const plan = planComments([f({ line: 4, endLine: 5, fix })], diffs, DEFAULT_CONFIG, new Set());
    expect(plan.comments[0]).toMatchObject({ startLine: 3, line: 5 });
    expect(plan.comments[0].body).toContain("```suggestion\na\nb\nc\n```");
    const outside = { ...fix, replacement: { startLine: 5, endLine: 7, text: "x" } };
    const plain = planComments([f({ line: 5, fix: outside })], diffs, DEFAULT_CONFIG, new Set());
    expect(plain.comments[0]).toMatchObject({ line: 5, startLine: undefined });
    expect(plain.comments[0].body).not.toContain("suggestion");
  });

  it("leaves out findings below comment_on and fingerprints already posted, most severe first", () => {
    const plan = planComments(
      [
        f({ line: 5, severity: "warn", fingerprint: "1".repeat(20) }),
        f({ line: 4, severity: "style", fingerprint: "2".repeat(20) }),
        f({ line: 3, fingerprint: "3".repeat(20) }),
        f({ line: 6, fingerprint: "4".repeat(20) }),
      ],
      diffs,
      { ...DEFAULT_CONFIG, maxComments: 2 },
      new Set(["4".repeat(20)]),
    );
    expect(plan.comments.map((c) => c.line)).toEqual([3, 5]);
    expect(plan.overCap).toBe(0);
  });
});
