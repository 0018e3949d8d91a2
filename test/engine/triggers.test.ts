import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/engine/engine.js";
import { loadRules } from "../../src/engine/load-rules.js";
import { type CheckContext, onTriggerLine } from "../../src/engine/rule.js";
import { importAliases, importedRoots, mayImport, requiredLiterals } from "../../src/engine/triggers.js";
import { prepareCase } from "../helpers/cases.js";

describe("literal prefilters for triggers", () => {
  it("reads the literal text a pattern requires", () => {
    expect(requiredLiterals(/\byaml\.load(_all)?\s*\(/)).toEqual(["yaml.load"]);
    expect(requiredLiterals(/\bprint\s*\(/)).toEqual(["print"]);
    expect(requiredLiterals(/KAN\s*\(|\bgrid\s*=/)).toEqual(["KAN", "grid"]);
    expect(requiredLiterals(/\.fit(_transform)?\s*\(/)).toEqual([".fit"]);
    expect(requiredLiterals(/def\s+training_step\b/)).toEqual(["training_step"]);
  });

  it("gives up where no safe literal of three characters exists", () => {
    expect(requiredLiterals(/\w+_(score|error)\s*\(/)).toBeUndefined();
    expect(requiredLiterals(/[Ii]nterpretab/)).toEqual(["nterpretab"]);
    expect(requiredLiterals(/ab?c/)).toBeUndefined();
    expect(requiredLiterals(/print/i)).toBeUndefined();
    expect(requiredLiterals(/x|y\.step/)).toBeUndefined();
  });

  it("never rejects a line its regex matches (every rule's triggers on every case line)", () => {
    let checked = 0;
    for (const rule of loadRules()) {
      const cases = [...rule.cases.invalid, ...rule.cases.valid];
      for (const re of rule.triggers) {
        const literals = requiredLiterals(re);
        if (!literals) continue;
        for (const c of cases) {
          for (const line of prepareCase(c.code).text.split("\n")) {
            if (!re.test(line)) continue;
            checked++;
            expect(
              literals.some((l) => line.includes(l)),
              `${rule.id}: ${re} on ${line}`,
            ).toBe(true);
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});

describe("import gate", () => {
  it("reads top-level modules, with the resolver's aliases", () => {
    const roots = importedRoots(
      "import os, sys\nimport numpy as np\nfrom torch import nn\nimport pytorch_lightning as pl\n  from tensorflow import keras\nfrom .local import x\n",
    );
    expect([...roots].sort()).toEqual([
      "keras",
      "lightning",
      "numpy",
      "os",
      "pytorch_lightning",
      "sys",
      "tensorflow",
      "torch",
    ]);
    expect(mayImport(roots, ["lightning"])).toBe(true);
    expect(mayImport(roots, ["torch.nn"])).toBe(true);
    expect(mayImport(roots, ["ray"])).toBe(false);
  });
});

describe("requires-text", () => {
  it("keeps a rule asleep in files whose text lacks the precondition, whatever its triggers say", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "mlreview-rules-"));
    mkdirSync(path.join(dir, "demo"));
    writeFileSync(
      path.join(dir, "demo", "print-with-config.yml"),
      [
        "severity: style",
        "summary: A print in a file that loads a config.",
        "message: Prints next to a config load.",
        "triggers: ['\\bprint\\(']",
        "requires-text: ['\\bsafe_load\\(']",
        "match:",
        "  - call: print",
        "docs: { what: what it flags here, why: why it matters here, example: print(1), fix: pass }",
        "cases: { valid: ['x = 1'], invalid: ['print(1)  # expect'] }",
      ].join("\n"),
    );
    const rules = loadRules(dir);
    expect(rules[0].requiresText?.[0].source).toBe("\\bsafe_load\\(");
    const engine = await Engine.create({ rules });
    const selection = new Map([["demo/print-with-config", { severity: "style" as const }]]);
    const run = async (content: string) =>
      (await engine.review([{ path: "a.py", content }], { selection })).findings.map((f) => f.line);
    expect(await run("print(1)\n")).toEqual([]);
    expect(await run("import yaml\ncfg = yaml.safe_load(open('c.yml'))\nprint(cfg)\n")).toEqual([3]);
  });
});

describe("onTriggerLine for checks", () => {
  it("reads import aliases like the engine does when it wakes a rule", () => {
    const text = "from sklearn.metrics import accuracy_score as acc\nprint(acc(y, p))\nprint(y)\n";
    const ctx = {
      kind: "python",
      text,
      lines: text.split("\n"),
      aliases: importAliases(text),
      rule: { triggers: [/\baccuracy_score\s*\(/] },
    } as unknown as CheckContext;
    expect(onTriggerLine(ctx, 2)).toBe(true);
    expect(onTriggerLine(ctx, 3)).toBe(false);
  });
});
