import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { loadRules } from "../../src/engine/load-rules.js";
import { withTree } from "../../src/engine/parser.js";
import type { Finding, TextEdit } from "../../src/engine/types.js";
import { prepareCase, rulesUnderTest, runCase, sharedEngine } from "../helpers/cases.js";

// Every suggested fix a rule offers on its own invalid cases must be safe to click: the edited
// file still parses, and the rule no longer reports that finding.

function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const lines = text.split("\n");
  const starts: number[] = [];
  let pos = 0;
  for (const l of lines) {
    starts.push(pos);
    pos += l.length + 1;
  }
  const offset = (line: number, column: number) => starts[line - 1] + column - 1;
  let out = text;
  for (const e of [...edits].sort((a, b) => offset(b.line, b.column) - offset(a.line, a.column))) {
    out = out.slice(0, offset(e.line, e.column)) + e.text + out.slice(offset(e.endLine, e.endColumn));
  }
  return out;
}

async function parses(path: string, text: string): Promise<boolean> {
  if (/\.ya?ml$/.test(path))
    return parseAllDocuments(text).every((d) => !("errors" in d) || d.errors.length === 0);
  if (!path.endsWith(".py")) return true;
  return withTree(text, (tree) => !tree.rootNode.hasError);
}

const rules = rulesUnderTest(loadRules());
let checked = 0;
const withFixes: {
  id: string;
  i: number;
  rule: (typeof rules)[number];
  c: (typeof rules)[number]["cases"]["invalid"][number];
}[] = [];
for (const rule of rules)
  for (const [i, c] of rule.cases.invalid.entries()) withFixes.push({ id: rule.id, i: i + 1, rule, c });

describe.each(withFixes.map((w) => [`${w.id} invalid case ${w.i}`, w] as const))("%s", (_name, w) => {
  it("offers only fixes that parse and resolve the finding", async () => {
    const engine = await sharedEngine();
    const { findings } = await runCase(engine, w.rule, w.c);
    const path = w.c.path ?? "case.py";
    const original = prepareCase(w.c.code).text;
    for (const f of findings.filter((x): x is Finding & { fix: NonNullable<Finding["fix"]> } => !!x.fix)) {
      checked++;
      expect(f.fix.edits.length).toBeGreaterThan(0);
      const fixed = applyEdits(original, f.fix.edits);
      expect(fixed, "the fix changes nothing").not.toBe(original);
      expect(await parses(path, fixed), `the fixed file does not parse:\n${fixed}`).toBe(true);
      const again = await runCase(engine, w.rule, { ...w.c, code: fixed });
      expect(
        again.findings.some((g) => g.fingerprint === f.fingerprint),
        `the fix does not resolve the finding on line ${f.line}:\n${fixed}`,
      ).toBe(false);
    }
  });
});

describe("fixes", () => {
  it.runIf(!process.env.MLREVIEW_RULES)("were exercised", () => {
    expect(checked).toBeGreaterThan(20);
  });
});
