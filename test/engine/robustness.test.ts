import { describe, expect, it } from "vitest";
import { stdlibCorpus } from "../../bench/corpus.js";
import { prepareCase, sharedEngine } from "../helpers/cases.js";

// Every rule runs on code written for other rules and on real Python it was not written for:
// none may crash (a crash becomes a note), and nothing may be skipped.

describe("all rules together", () => {
  it("run on every rule's cases without a crash", async () => {
    const engine = await sharedEngine();
    const selection = new Map(engine.rules.map((r) => [r.id, { severity: r.severity }]));
    const files = engine.rules.flatMap((r) =>
      [...r.cases.invalid, ...r.cases.valid].map((c, i) => ({
        path: `${r.id}/${i}/${c.path ?? "case.py"}`,
        content: prepareCase(c.code).text,
      })),
    );
    const result = await engine.review(files, { selection });
    expect(result.notes).toEqual([]);
    expect(result.skipped).toEqual([]);
    expect(result.files).toBe(files.length);
  });

  it("run on real Python (the standard library) without a crash", async () => {
    const engine = await sharedEngine();
    const selection = new Map(engine.rules.map((r) => [r.id, { severity: r.severity }]));
    const { files } = stdlibCorpus(15_000);
    const result = await engine.review(
      files.map((f) => ({ path: f.path, content: f.text })),
      { selection },
    );
    expect(result.notes).toEqual([]);
    expect(result.skipped).toEqual([]);
  });
});
