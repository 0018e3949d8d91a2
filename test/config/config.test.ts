import { describe, expect, it } from "vitest";
import { formatConfigError, loadConfig, pathFilter, selectRules } from "../../src/config/index.js";
import type { RuleInfo } from "../../src/config/types.js";

const rules: RuleInfo[] = [
  { id: "pyyaml/unsafe-load", pack: "pyyaml", severity: "critical", default: "on" },
  { id: "pyyaml/dump-flow-style", pack: "pyyaml", severity: "warn", default: "on" },
  { id: "general/no-early-stopping", pack: "general", severity: "warn", default: "opt" },
  { id: "general/missing-seed", pack: "general", severity: "critical", default: "on" },
];

describe("loadConfig", () => {
  it("gives defaults for an empty file", () => {
    const { config, errors } = loadConfig("", rules);
    expect(errors).toEqual([]);
    expect(config).toMatchObject({ failOn: "critical", commentOn: "warn", maxComments: 25, filter: "added" });
  });

  it("reads every setting", () => {
    const text = [
      "fail_on: warn",
      "comment_on: critical",
      "max_comments: 10",
      "filter: diff_context",
      "packs:",
      "  general: off",
      "rules:",
      "  pyyaml/dump-flow-style: off",
      "  pyyaml/unsafe-load: warn",
      "  general/no-early-stopping: { enabled: true, severity: style }",
      "paths:",
      "  include: ['src/**']",
      "  exclude: ['src/legacy/**']",
    ].join("\n");
    const { config, errors } = loadConfig(text, rules);
    expect(errors).toEqual([]);
    expect(config.failOn).toBe("warn");
    expect(config.maxComments).toBe(10);
    const sel = selectRules(config, rules);
    expect([...sel.entries()]).toEqual([
      ["pyyaml/unsafe-load", { severity: "warn" }],
      ["general/no-early-stopping", { severity: "style" }],
    ]);
    const keep = pathFilter(config);
    expect(keep("src/train.py")).toBe(true);
    expect(keep("src/legacy/old.py")).toBe(false);
    expect(keep("scripts/x.py")).toBe(false);
  });

  it("reports an unknown key with its position and a did-you-mean", () => {
    const { errors, config } = loadConfig("fail_on: warn\nmax_coments: 3\n", rules, ".mlreview.yml");
    expect(errors.map(formatConfigError)).toEqual([
      '.mlreview.yml:2:1: unknown key "max_coments" (did you mean "max_comments"?)',
    ]);
    expect(config.failOn).toBe("critical");
  });

  it("reports an unknown rule id, suggesting the closest", () => {
    const { errors } = loadConfig("rules:\n  pyyaml/unsafe-laod: off\n  unsafe-load: off\n", rules);
    expect(errors.map((e) => `${e.line}:${e.column} ${e.message}`)).toEqual([
      '2:3 unknown rule "pyyaml/unsafe-laod" (did you mean "pyyaml/unsafe-load"?)',
      '3:3 unknown rule "unsafe-load" (did you mean "pyyaml/unsafe-load"?)',
    ]);
  });

  it("reports wrong types and values at the value's position", () => {
    const { errors } = loadConfig(
      "fail_on: critcal\nmax_comments: many\nrules:\n  pyyaml/unsafe-load: maybe\n",
      rules,
    );
    expect(errors.map((e) => `${e.line}:${e.column} ${e.message}`)).toEqual([
      '1:10 fail_on must be one of critical, warn, style, never (did you mean "critical"?)',
      "2:15 max_comments must be an integer",
      "4:23 rules.pyyaml/unsafe-load must be one of on, off, critical, warn, style",
    ]);
  });

  it("reports YAML syntax errors with a position", () => {
    const { errors } = loadConfig("rules:\n  a: [1, 2\n", rules);
    expect(errors[0].line).toBeGreaterThan(1);
    expect(errors[0].message).toMatch(/^YAML syntax/);
  });

  it("refuses an alias bomb instead of expanding it", () => {
    const bomb = [
      "a: &a ['x','x','x','x','x','x','x','x','x']",
      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]",
      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
      "e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]",
    ].join("\n");
    const { errors, config } = loadConfig(bomb, rules);
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/cannot be read/);
    expect(config.failOn).toBe("critical");
  });

  it("refuses an oversized file and a non-mapping", () => {
    expect(loadConfig(`# ${"x".repeat(70_000)}`, rules).errors[0].message).toMatch(/larger than/);
    expect(loadConfig("- a\n- b\n", rules).errors[0].message).toMatch(/mapping/);
  });
});

describe("selectRules", () => {
  const { config } = loadConfig("", rules);
  it("runs default rules only, unless told otherwise", () => {
    expect([...selectRules(config, rules).keys()]).toEqual([
      "pyyaml/unsafe-load",
      "pyyaml/dump-flow-style",
      "general/missing-seed",
    ]);
  });
  it("narrows to packs and ids; an id turns an opt-in rule on; all turns everything on", () => {
    expect([...selectRules(config, rules, ["pyyaml"]).keys()]).toEqual([
      "pyyaml/unsafe-load",
      "pyyaml/dump-flow-style",
    ]);
    expect([...selectRules(config, rules, ["general/no-early-stopping"]).keys()]).toEqual([
      "general/no-early-stopping",
    ]);
    expect(selectRules(config, rules, ["all"]).size).toBe(4);
  });
});

describe("path globs", () => {
  // Catastrophic backtracking would hang here until the test times out.
  it("answer pathological patterns on long paths", () => {
    const { config, errors } = loadConfig(
      `paths:\n  include:\n    - "${"**/".repeat(40)}x"\n    - "${"*a".repeat(30)}b"\n    - "${"@(a|a)".repeat(12)}!(b)"\n`,
      rules,
    );
    expect(errors).toEqual([]);
    const keep = pathFilter(config);
    expect(keep(`${"a/".repeat(60)}${"a".repeat(200)}`)).toBe(false);
    expect(keep(`${"a/".repeat(60)}x`)).toBe(true);
  });
  it("rejects over-long patterns", () => {
    const { errors } = loadConfig(`paths:\n  exclude: ["${"x".repeat(600)}"]\n`, rules);
    expect(errors[0].message).toMatch(/paths\.exclude\.0/);
  });
});
