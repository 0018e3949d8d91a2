import { describe, expect, it } from "vitest";
import { loadRules } from "../../src/engine/load-rules.js";
import { rulesUnderTest, runCase, sharedEngine } from "../helpers/cases.js";

// Every rule's own YAML cases: invalid ones are flagged exactly on their `# expect` lines, valid
// ones not at all. Set MLREVIEW_RULES=pack or rule id to run a subset while working on a pack.
const rules = rulesUnderTest(loadRules());

describe.each(rules.map((r) => [r.id, r] as const))("%s", (_id, rule) => {
  it.each(rule.cases.invalid.map((c, i) => [i + 1, c] as const))(
    "flags invalid case %i on its expected lines",
    async (_i, c) => {
      const { findings, expected, notes } = await runCase(await sharedEngine(), rule, c);
      expect(notes).toEqual([]);
      expect(expected.length).toBeGreaterThan(0);
      expect(findings.map((f) => f.line)).toEqual(expected);
      for (const f of findings) {
        expect(f.rule).toBe(rule.id);
        expect(f.message.length).toBeGreaterThan(20);
      }
    },
  );
  it.each(rule.cases.valid.map((c, i) => [i + 1, c] as const))(
    "leaves valid case %i alone",
    async (_i, c) => {
      const { findings, notes } = await runCase(await sharedEngine(), rule, c);
      expect(notes).toEqual([]);
      expect(findings.map((f) => `${f.line}: ${f.message}`)).toEqual([]);
    },
  );
});
