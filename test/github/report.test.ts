import { describe, expect, it } from "vitest";
import type { Finding } from "../../src/engine/types.js";
import { checkSummary, MAX_SUMMARY_CHARS } from "../../src/report/check-run.js";
import { commentBody, commentFingerprints, MAX_COMMENT_CHARS } from "../../src/report/comment.js";
import { capMarkdown, codeSpan, escapeMarkdown } from "../../src/report/escape.js";

const finding = (over: Partial<Finding> = {}): Finding => ({
  rule: "pyyaml/unsafe-load",
  severity: "critical",
  path: "train.py",
  line: 3,
  endLine: 3,
  column: 1,
  message: "Use `yaml.safe_load`.",
  fingerprint: "0123456789abcdef0123",
  snippet: "yaml.load(f)",
  docsUrl: "https://example.com/docs/pyyaml/unsafe-load",
  ...over,
});

describe("text from code in comments", () => {
  it("fires no mention and opens no HTML outside code spans", () => {
    const out = escapeMarkdown("ping @org/team <img src=x onerror=alert(1)> & `@kept <b>`");
    expect(out).not.toMatch(/@org/);
    expect(out).toContain("&#64;org/team");
    expect(out).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(out).toContain("&amp;");
    expect(out).toContain("`@kept <b>`");
  });

  it("escapes a rule message quoting code in the comment body", () => {
    const body = commentBody([finding({ message: "calls @org/team </details><script>x</script>" })]);
    expect(body).not.toContain("@org");
    expect(body).not.toContain("<script>");
    expect(body).not.toContain("</details>");
  });

  it("keeps a code span whole whatever backticks it holds", () => {
    expect(codeSpan("a`b")).toBe("``a`b``");
    expect(codeSpan("`x")).toBe("`` `x ``");
  });

  it("uses a fence the suggestion cannot close", () => {
    const f = finding({
      fix: {
        description: "d",
        edits: [],
        replacement: { startLine: 3, endLine: 3, text: 'doc = """\n```\n"""' },
      },
    });
    const body = commentBody([f], f);
    expect(body).toContain('````suggestion\ndoc = """\n```\n"""\n````');
  });

  it("carries the fingerprints of every finding on the line, read back only from the end", () => {
    const body = commentBody([finding(), finding({ fingerprint: "ffffffffffffffffffff", severity: "warn" })]);
    expect(commentFingerprints(body)).toEqual(["0123456789abcdef0123", "ffffffffffffffffffff"]);
    expect(commentFingerprints(`<!-- mlreview:fingerprints aaaa -->\nreply`)).toEqual([]);
    expect(body.indexOf("critical")).toBeLessThan(body.indexOf("warn"));
  });

  it("stays within GitHub's comment limit", () => {
    const many = Array.from({ length: 40 }, (_, i) =>
      finding({ fingerprint: i.toString(16).padStart(20, "0"), message: "x".repeat(5000) }),
    );
    const body = commentBody(many);
    expect(body.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS);
    expect(commentFingerprints(body)).toHaveLength(40);
  });
});

describe("check run summary", () => {
  it("counts per severity and rule and lists skipped files and notes", () => {
    const s = checkSummary({
      findings: [finding(), finding({ rule: "x/y", severity: "style" })],
      skipped: [{ path: "a`b.py", reason: "binary file" }],
      notes: ["a note"],
      files: 3,
      commented: 1,
      overCap: 0,
    });
    expect(s).toContain("| critical | 1 |");
    expect(s).toContain("| style | 1 |");
    expect(s).toContain("| `pyyaml/unsafe-load` | critical | 1 |");
    expect(s).toContain("- ``a`b.py``: binary file");
    expect(s).toContain("- a note");
  });

  it("is cut to 65,535 characters with its code fence closed", () => {
    const text = `intro\n\`\`\`\n${"line of code\n".repeat(10_000)}`;
    const cut = capMarkdown(text, MAX_SUMMARY_CHARS);
    expect(cut.length).toBeLessThanOrEqual(MAX_SUMMARY_CHARS);
    expect((cut.match(/^```/gm) ?? []).length % 2).toBe(0);
    const huge = checkSummary({
      findings: [],
      skipped: Array.from({ length: 5000 }, (_, i) => ({
        path: `dir/${"n".repeat(20)}${i}.py`,
        reason: "binary file",
      })),
      notes: [],
      files: 5000,
      commented: 0,
      overCap: 0,
    });
    expect(huge.length).toBeLessThanOrEqual(MAX_SUMMARY_CHARS);
    expect(huge).toContain("cut to fit");
  });
});
