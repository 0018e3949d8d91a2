import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import AjvDraft04 from "ajv-draft-04";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { packageRoot } from "../../src/engine/load-rules.js";

async function run(args: string[], cwd: string) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    cwd,
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    isTTY: false,
  });
  return { code, stdout, stderr };
}

function sh(cwd: string, ...args: string[]) {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@t",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@t",
    },
  });
}

const ONLY_UNSAFE = ["--select", "pyyaml/unsafe-load"];
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "mlreview-cli-"));
  writeFileSync(
    path.join(dir, "load.py"),
    "import yaml as y\n\nwith open('c.yaml') as f:\n    cfg = y.load(f)\n",
  );
  writeFileSync(path.join(dir, "safe.py"), "import yaml\ncfg = yaml.safe_load(open('c.yaml'))\n");
});

describe("mlreview check", () => {
  it("flags an aliased yaml.load on its line and exits 1", async () => {
    const r = await run(["check", "load.py", "--format", "json", ...ONLY_UNSAFE], dir);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(
      out.findings.map((f: { rule: string; line: number; path: string }) => [f.rule, f.path, f.line]),
    ).toEqual([["pyyaml/unsafe-load", "load.py", 4]]);
    expect(out.files).toBe(1);
    expect(out.skipped).toEqual([]);
  });

  it("leaves yaml.safe_load alone and exits 0", async () => {
    const r = await run(["check", "safe.py", ...ONLY_UNSAFE], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/No findings in 1 file reviewed/);
  });

  it("walks directories and prints readable text grouped by file", async () => {
    const r = await run(["check", ".", ...ONLY_UNSAFE], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("load.py\n  4:11    [critical] pyyaml/unsafe-load");
    expect(r.stdout).toContain("│ cfg = y.load(f)");
    expect(r.stdout).toMatch(/1 critical in 2 files reviewed/);
  });

  it("emits SARIF that validates against the SARIF 2.1.0 schema", async () => {
    const r = await run(["check", "load.py", "--format", "sarif", ...ONLY_UNSAFE], dir);
    const require = createRequire(import.meta.url);
    const schemaPath = require.resolve("@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json");
    const schema = JSON.parse(readFileSync(schemaPath, "utf8"));
    const ajv = new AjvDraft04.default({
      allErrors: true,
      strict: false,
      validateFormats: false,
      unicodeRegExp: false,
    });
    const validate = ajv.compile(schema);
    const log = JSON.parse(r.stdout);
    expect(validate(log), JSON.stringify(validate.errors, null, 1)).toBe(true);
    expect(log.runs[0].results[0]).toMatchObject({ ruleId: "pyyaml/unsafe-load", level: "error" });
    expect(log.runs[0].results[0].locations[0].physicalLocation.region.startLine).toBe(4);
  });

  it("prints GitHub workflow annotations", async () => {
    const r = await run(["check", "load.py", "--format", "github", ...ONLY_UNSAFE], dir);
    expect(r.stdout).toMatch(
      /^::error file=load\.py,line=4,endLine=4,col=11,title=pyyaml\/unsafe-load \(critical\)::/,
    );
  });

  it("exits 2 with file:line:column and a did-you-mean for a broken config", async () => {
    const cfgDir = mkdtempSync(path.join(tmpdir(), "mlreview-cfg-"));
    writeFileSync(path.join(cfgDir, ".mlreview.yml"), "fail_on: warn\nrules:\n  pyyaml/unsafe-lod: off\n");
    writeFileSync(path.join(cfgDir, "a.py"), "import yaml\nyaml.load(f)\n");
    const r = await run(["check", "a.py"], cfgDir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      '.mlreview.yml:3:3: unknown rule "pyyaml/unsafe-lod" (did you mean "pyyaml/unsafe-load"?)',
    );
    expect(r.stdout).toBe("");
  });

  it("obeys the config: fail_on never, and rules turned off", async () => {
    const cfgDir = mkdtempSync(path.join(tmpdir(), "mlreview-cfg-"));
    writeFileSync(path.join(cfgDir, "a.py"), "import yaml\nyaml.load(f)\n");
    writeFileSync(path.join(cfgDir, "lenient.yml"), "fail_on: never\n");
    writeFileSync(path.join(cfgDir, "off.yml"), "rules:\n  pyyaml/unsafe-load: off\n");
    expect((await run(["check", "a.py", "--config", "lenient.yml", ...ONLY_UNSAFE], cfgDir)).code).toBe(0);
    expect((await run(["check", "a.py", "--fail-on", "never", ...ONLY_UNSAFE], cfgDir)).code).toBe(0);
    expect(
      (
        await run(
          ["check", "a.py", "--config", "lenient.yml", "--fail-on", "critical", ...ONLY_UNSAFE],
          cfgDir,
        )
      ).code,
    ).toBe(1);
    expect((await run(["check", "a.py", "--fail-on", "sometimes"], cfgDir)).code).toBe(2);
    const off = await run(["check", "a.py", "--config", "off.yml", "--format", "json"], cfgDir);
    expect(
      JSON.parse(off.stdout).findings.filter((f: { rule: string }) => f.rule === "pyyaml/unsafe-load"),
    ).toEqual([]);
  });

  it("exits 2 on usage errors", async () => {
    expect((await run([], dir)).code).toBe(2);
    expect((await run(["frobnicate"], dir)).code).toBe(2);
    expect((await run(["check", "missing.py"], dir)).stderr).toContain(
      "no such file or directory: missing.py",
    );
    expect((await run(["check", "load.py", "--select", "nope/rule"], dir)).code).toBe(2);
    expect((await run(["check", "load.py", "--format", "xml"], dir)).code).toBe(2);
    expect((await run(["check", "load.py", "--bogus"], dir)).code).toBe(2);
  });
});

describe("mlreview diff", () => {
  it("reports only findings on lines added since --base", async () => {
    const repo = mkdtempSync(path.join(tmpdir(), "mlreview-git-"));
    sh(repo, "init", "-q", "-b", "main");
    mkdirSync(path.join(repo, "src"));
    writeFileSync(path.join(repo, "src", "train.py"), "import yaml\nold = yaml.load(open('a'))\n");
    sh(repo, "add", ".");
    sh(repo, "commit", "-qm", "base");
    const base = sh(repo, "rev-parse", "HEAD").trim();
    writeFileSync(
      path.join(repo, "src", "train.py"),
      "import yaml\nold = yaml.load(open('a'))\nnew = yaml.load(open('b'))\n",
    );
    writeFileSync(path.join(repo, "src", "other.py"), "import yaml\nx = yaml.load(s)\n");
    sh(repo, "add", ".");
    sh(repo, "commit", "-qm", "change");
    const r = await run(["diff", "--base", base, "--format", "json", ...ONLY_UNSAFE], repo);
    expect(r.code).toBe(1);
    const found = JSON.parse(r.stdout).findings.map(
      (f: { path: string; line: number }) => `${f.path}:${f.line}`,
    );
    expect(found).toEqual(["src/other.py:2", "src/train.py:3"]);

    // The working tree against HEAD: an uncommitted edit is reviewed, committed lines are not.
    writeFileSync(
      path.join(repo, "src", "train.py"),
      "import yaml\nold = yaml.load(open('a'))\nnew = yaml.load(open('b'))\nwip = yaml.load(open('c'))\n",
    );
    const wip = await run(
      ["diff", "--base", "HEAD", "--format", "json", ...ONLY_UNSAFE],
      path.join(repo, "src"),
    );
    expect(
      JSON.parse(wip.stdout).findings.map((f: { path: string; line: number }) => `${f.path}:${f.line}`),
    ).toEqual(["train.py:4"]);

    // --head reads contents from that commit, not from the working tree.
    const head = await run(
      ["diff", "--base", base, "--head", "HEAD", "--format", "json", ...ONLY_UNSAFE],
      repo,
    );
    expect(JSON.parse(head.stdout).findings).toHaveLength(2);
    expect((await run(["diff", "--base", "nope"], repo)).code).toBe(2);
  });
});

describe("mlreview rules and explain", () => {
  it("lists rules as JSON", async () => {
    const r = await run(["rules", "--format", "json"], dir);
    const rules = JSON.parse(r.stdout).rules;
    expect(rules.find((x: { id: string }) => x.id === "pyyaml/unsafe-load")).toEqual({
      id: "pyyaml/unsafe-load",
      pack: "pyyaml",
      severity: "critical",
      default: "on",
      summary: expect.any(String),
    });
  });
  it("explains a rule and rejects an unknown one", async () => {
    const r = await run(["explain", "pyyaml/unsafe-load"], dir);
    expect(r.stdout).toMatch(/What it flags[\s\S]*Why it matters[\s\S]*Example[\s\S]*Fix/);
    const bad = await run(["explain", "unsafe-load"], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("pyyaml/unsafe-load");
  });
});

describe("the installed binary", () => {
  it("runs from dist/ as a user would run it", () => {
    const bin = path.join(packageRoot(), "bin", "mlreview.js");
    const r = spawnSync(process.execPath, [bin, "check", "load.py", ...ONLY_UNSAFE], {
      cwd: dir,
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("pyyaml/unsafe-load");
  });
});
