import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadRules, packageRoot } from "../../src/engine/load-rules.js";
import { compileQuery } from "../../src/engine/parser.js";
import { importAliases, triggerProbe } from "../../src/engine/triggers.js";
import { prepareCase, rulesUnderTest } from "../helpers/cases.js";

const rules = rulesUnderTest(loadRules());
const catalogue = readCatalogue();

function readCatalogue(): Map<string, { severity: string; default: string }> {
  const file = path.join(packageRoot(), "..", "shared", "rules-catalogue.md");
  const out = new Map<string, { severity: string; default: string }>();
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^\| ([a-z]+\/[a-z0-9-]+) \| (critical|warn|style) \| (on|opt) \|/.exec(line);
    if (m) out.set(m[1], { severity: m[2], default: m[3] });
  }
  return out;
}

describe("the rule set", () => {
  it.runIf(catalogue.size > 0 && !process.env.MLREVIEW_RULES)("has every rule of the catalogue", () => {
    const ids = new Set(rules.map((r) => r.id));
    expect([...catalogue.keys()].filter((id) => !ids.has(id))).toEqual([]);
  });
});

describe.each(rules.map((r) => [r.id, r] as const))("%s meta", (_id, rule) => {
  it("has its id, severity and default from the catalogue", () => {
    const entry = catalogue.get(rule.id);
    expect(entry, `${rule.id} is not in the catalogue`).toBeDefined();
    expect(rule.severity).toBe(entry!.severity);
    expect(rule.default).toBe(entry!.default);
    expect(rule.id).toBe(`${path.basename(path.dirname(rule.file))}/${path.basename(rule.file, ".yml")}`);
  });

  it("has docs and both kinds of case", () => {
    for (const key of ["what", "why", "example", "fix"] as const)
      expect(rule.docs[key].trim().length).toBeGreaterThan(10);
    expect(rule.cases.valid.length).toBeGreaterThan(0);
    expect(rule.cases.invalid.length).toBeGreaterThan(0);
    expect(rule.message).not.toMatch(/TODO|FIXME/);
  });

  it("has a trigger on every line it expects to flag", () => {
    for (const c of rule.cases.invalid) {
      const { text, expected } = prepareCase(c.code);
      const lines = text.split("\n");
      const aliases = importAliases(text);
      expect(expected.length, "an invalid case without `# expect`").toBeGreaterThan(0);
      for (const n of expected) {
        const line = lines[n - 1];
        const probe = triggerProbe([line], aliases);
        expect(
          rule.triggers.some((t) => t.test(probe)),
          `line ${n} (${line.trim()}) matches no trigger`,
        ).toBe(true);
      }
    }
  });

  it("compiles its query or loads its check", async () => {
    if (rule.tier === "query") (await compileQuery(rule.query!)).delete();
    if (rule.tier === "check") {
      const mod = await import(rule.checkFile!);
      expect(typeof mod.default).toBe("function");
    }
    if (rule.tier === "match") expect(rule.match!.length).toBeGreaterThan(0);
  });
});
