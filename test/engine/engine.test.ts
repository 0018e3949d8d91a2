import { describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine/engine.js";
import { importAliases, triggerProbe } from "../../src/engine/triggers.js";
import type { ReviewOptions, SourceFile } from "../../src/engine/types.js";
import { sharedEngine } from "../helpers/cases.js";

const UNSAFE = "pyyaml/unsafe-load";
const options: ReviewOptions = { selection: new Map([[UNSAFE, { severity: "critical" }]]) };

async function review(files: SourceFile[], opts: ReviewOptions = options) {
  const engine: Engine = await sharedEngine();
  return engine.review(files, opts);
}

const BAD = "import yaml\ncfg = yaml.load(open('c.yaml'))\n";

describe("engine", () => {
  it("reviews a whole file when no diff lines are given", async () => {
    const r = await review([{ path: "a.py", content: BAD }]);
    expect(r.findings.map((f) => [f.rule, f.line, f.column])).toEqual([[UNSAFE, 2, 7]]);
    expect(r.files).toBe(1);
  });

  it("keeps only findings on added lines in diff mode", async () => {
    const text = "import yaml\na = yaml.load(f)\nb = yaml.load(g)\n";
    const r = await review([
      { path: "a.py", content: text, lines: { added: new Set([3]), commentable: new Set([2, 3]) } },
    ]);
    expect(r.findings.map((f) => f.line)).toEqual([3]);
  });

  it("keeps context-line findings with filter diff_context", async () => {
    const text = "import yaml\na = yaml.load(f)\nb = yaml.load(g)\n";
    const r = await review(
      [{ path: "a.py", content: text, lines: { added: new Set([3]), commentable: new Set([2, 3]) } }],
      {
        ...options,
        filter: "diff_context",
      },
    );
    expect(r.findings.map((f) => f.line)).toEqual([2, 3]);
  });

  it("does not run a rule whose triggers match no added line", async () => {
    const text = "import yaml\na = yaml.load(f)\nprint('changed')\n";
    const r = await review(
      [{ path: "a.py", content: text, lines: { added: new Set([3]), commentable: new Set([1, 2, 3]) } }],
      {
        ...options,
        filter: "diff_context",
      },
    );
    expect(r.findings).toEqual([]);
  });

  it("skips binary, non-UTF-8 and oversized files with a reason", async () => {
    const latin1 = new Uint8Array([...Buffer.from("x = 'caf"), 0xe9, ...Buffer.from("'\n")]);
    const r = await review([
      { path: "bin.py", content: new Uint8Array([105, 0, 1, 2]) },
      { path: "latin.py", content: latin1 },
      { path: "huge.py", content: `${"x = 1\n".repeat(200_000)}` },
      { path: "ok.py", content: BAD },
      { path: "README.md", content: "yaml.load(f)" },
    ]);
    expect(r.skipped).toEqual([
      { path: "bin.py", reason: "binary file" },
      { path: "latin.py", reason: "not valid UTF-8" },
      { path: "huge.py", reason: "larger than 1 MB" },
    ]);
    expect(r.files).toBe(4);
    expect(r.findings.map((f) => f.path)).toEqual(["ok.py"]);
  });

  it("drops findings inside code that does not parse, but keeps the rest of the file", async () => {
    const text = "import yaml\ndef f():\n    return yaml.load(f) +* )\n\nok = yaml.load(g)\n";
    const r = await review([{ path: "a.py", content: text }]);
    expect(r.findings.map((f) => f.line)).toEqual([5]);
  });

  it("honours suppression comments on the line, the line above, and for the file", async () => {
    const text = [
      "import yaml",
      "a = yaml.load(f)  # mlreview: ignore[pyyaml/unsafe-load] -- trusted fixture",
      "# mlreview: ignore[pyyaml/unsafe-load]",
      "b = yaml.load(g)",
      "c = yaml.load(h)  # mlreview: ignore[some/other-rule]",
      "d = yaml.load(i)",
    ].join("\n");
    const r = await review([{ path: "a.py", content: text }]);
    expect(r.findings.map((f) => f.line)).toEqual([5, 6]);
    const whole = await review([{ path: "a.py", content: `# mlreview: ignore-file[pyyaml]\n${text}` }]);
    expect(whole.findings).toEqual([]);
  });

  it("gives fingerprints that survive unrelated edits and distinguish repeats", async () => {
    const before = await review([
      { path: "a.py", content: "import yaml\na = yaml.load(f)\na = yaml.load(f)\n" },
    ]);
    const after = await review([
      { path: "a.py", content: "import yaml\n\n\n# new comment\na  =  yaml.load(f)\na = yaml.load(f)\n" },
    ]);
    expect(before.findings).toHaveLength(2);
    expect(new Set(before.findings.map((f) => f.fingerprint)).size).toBe(2);
    expect(after.findings.map((f) => f.fingerprint)).toEqual(before.findings.map((f) => f.fingerprint));
  });

  it("applies the selection's severity and skips unselected rules", async () => {
    const r = await review([{ path: "a.py", content: BAD }], {
      selection: new Map([[UNSAFE, { severity: "style" }]]),
    });
    expect(r.findings[0].severity).toBe("style");
    const none = await review([{ path: "a.py", content: BAD }], { selection: new Map() });
    expect(none.findings).toEqual([]);
  });

  it("builds a suggestion that rewrites the whole flagged line", async () => {
    const r = await review([
      { path: "a.py", content: "import yaml as y\ncfg = y.load(open('c'), Loader=y.FullLoader)  # load\n" },
    ]);
    expect(r.findings[0].fix?.replacement).toEqual({
      startLine: 2,
      endLine: 2,
      text: "cfg = y.safe_load(open('c'))  # load",
    });
  });

  it("handles CRLF line endings and a UTF-8 byte-order mark", async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from("import yaml\r\ncfg = yaml.load(f)\r\n")]);
    const r = await review([{ path: "a.py", content: bytes }]);
    expect(r.findings.map((f) => [f.line, f.snippet])).toEqual([[2, "cfg = yaml.load(f)"]]);
  });
});

describe("triggers through import aliases", () => {
  it("maps aliases to the names they stand for", () => {
    const aliases = importAliases(
      "import numpy as np\nimport torch.nn as nn\nfrom sklearn.model_selection import (\n    KFold,\n    train_test_split as tts,\n)\nfrom yaml import load as L\n",
    );
    expect(Object.fromEntries(aliases)).toEqual({ np: "numpy", tts: "train_test_split", L: "load" });
  });

  it("adds alias-expanded copies of the lines that use an alias", () => {
    const probe = triggerProbe(["a, b = tts(X, y)", "print(x)"], new Map([["tts", "train_test_split"]]));
    expect(probe.split("\n")).toEqual(["a, b = tts(X, y)", "print(x)", "a, b = train_test_split(X, y)"]);
  });

  it("wakes a rule on an added line that calls its target through an alias", async () => {
    const text = "from yaml import load as L\n\nwith open('c.yml') as f:\n    cfg = L(f)\n";
    const lines = { added: new Set([4]), commentable: new Set([4]) };
    const result = await review([{ path: "a.py", content: text, lines }]);
    expect(result.findings.map((f) => [f.rule, f.line])).toEqual([["pyyaml/unsafe-load", 4]]);
  });
});
