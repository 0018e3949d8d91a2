import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  CONFIG_FILE,
  formatConfigError,
  loadConfig,
  pathFilter,
  selectRules,
  unknownSelections,
} from "../config/index.js";
import type { ResolvedConfig } from "../config/types.js";
import { parseGitDiff } from "../diff/index.js";
import { fileKind } from "../engine/decode.js";
import { DEFAULT_DOCS_URL, Engine } from "../engine/engine.js";
import { packageRoot, RuleLoadError } from "../engine/load-rules.js";
import { type ReviewResult, SEVERITY_RANK, type SourceFile } from "../engine/types.js";
import { formatGithubActions, formatJson, formatSarif, formatText } from "../report/index.js";
import { collectFiles, readManifests } from "./files.js";
import { assertRev, defaultBase, GitError, git, gitBytes, repoRoot } from "./git.js";

const USAGE = `mlreview: review Python ML code the way a senior ML engineer would.

Usage:
  mlreview check PATH...            review whole files (directories are walked)
  mlreview diff [--base REV] [--head REV]
                                    review a local git diff as the App would: only added lines
                                    (default base: where this branch left main; default head:
                                    the working tree)
  mlreview rules                    list the rules
  mlreview explain RULE-ID          print a rule's documentation

Options:
  --config FILE        settings file (default: .mlreview.yml at the repository root)
  --select ID|PACK|all run only these rules or packs (comma-separated or repeated);
                       "all" also turns on opt-in rules
  --format FORMAT      text (default), json, sarif or github
  --fail-on LEVEL      critical, warn, style or never: overrides fail_on from the config
  --no-color           plain text output
  -h, --help           this help

Exit codes: 0 no finding reaches fail_on, 1 a finding does, 2 usage or configuration error.
`;

class UsageError extends Error {}

interface Io {
  cwd: string;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  isTTY: boolean;
}

const FORMATS = ["text", "json", "sarif", "github"] as const;
const FAIL_ON: ResolvedConfig["failOn"][] = ["critical", "warn", "style", "never"];
type Format = (typeof FORMATS)[number];

export async function main(argv: string[], io: Io): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    io.stderr(`mlreview: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    (values.help ? io.stdout : io.stderr)(USAGE);
    return values.help ? 0 : 2;
  }
  const [command, ...rest] = positionals;
  try {
    const format = (values.format ?? "text") as Format;
    if (!FORMATS.includes(format))
      throw new UsageError(`unknown format "${format}" (text, json, sarif, github)`);
    const engine = await Engine.create();
    switch (command) {
      case "rules":
        return listRules(engine, format, io);
      case "explain":
        return explain(engine, rest, io);
      case "check":
      case "diff": {
        const root = repoRoot(io.cwd) ?? io.cwd;
        const config = readConfig(values.config, root, engine, io);
        if (!config) return 2;
        const failOn = values["fail-on"];
        if (failOn !== undefined) {
          if (!FAIL_ON.includes(failOn as ResolvedConfig["failOn"])) {
            throw new UsageError(`--fail-on must be one of ${FAIL_ON.join(", ")}`);
          }
          config.failOn = failOn as ResolvedConfig["failOn"];
        }
        const select = (values.select ?? [])
          .flatMap((s) => s.split(","))
          .map((s) => s.trim())
          .filter(Boolean);
        const unknown = unknownSelections(select, engine.rules);
        if (unknown.length) throw new UsageError(`unknown rule or pack in --select: ${unknown.join(", ")}`);
        const selection = selectRules(config, engine.rules, select.length ? select : undefined);
        const keep = pathFilter(config);
        const files =
          command === "check"
            ? checkFiles(rest, root, keep, io)
            : diffFiles(rest, values.base, values.head, root, keep, io);
        const result = await engine.review(files, {
          selection,
          filter: config.filter,
          project: { manifests: readManifests(root, io.cwd) },
          docsBaseUrl: DEFAULT_DOCS_URL,
        });
        io.stdout(render(result, format, engine, io, values["no-color"] ?? false));
        return failing(result, config) ? 1 : 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof GitError) {
      io.stderr(`mlreview: ${e.message}\nRun "mlreview --help" for usage.\n`);
      return 2;
    }
    if (e instanceof RuleLoadError) {
      io.stderr(`mlreview: a rule is broken: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string" },
      select: { type: "string", multiple: true },
      format: { type: "string" },
      "fail-on": { type: "string" },
      base: { type: "string" },
      head: { type: "string" },
      "no-color": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function readConfig(
  explicit: string | undefined,
  root: string,
  engine: Engine,
  io: Io,
): ResolvedConfig | undefined {
  const file = explicit ? path.resolve(io.cwd, explicit) : path.join(root, CONFIG_FILE);
  if (!existsSync(file)) {
    if (explicit) throw new UsageError(`config file not found: ${explicit}`);
    return loadConfig("", engine.rules).config;
  }
  const shown = path.relative(io.cwd, file) || CONFIG_FILE;
  const { config, errors } = loadConfig(readFileSync(file, "utf8"), engine.rules, shown);
  if (errors.length === 0) return config;
  for (const e of errors) io.stderr(`${formatConfigError(e)}\n`);
  io.stderr(
    `mlreview: ${shown} has ${errors.length} error${errors.length === 1 ? "" : "s"}; nothing was reviewed.\n`,
  );
  return undefined;
}

/** Repository-relative path (what config globs match) of a cwd-relative path. */
function repoPath(rel: string, root: string, cwd: string): string {
  return path.relative(root, path.resolve(cwd, rel)).split(path.sep).join("/");
}

function checkFiles(inputs: string[], root: string, keep: (p: string) => boolean, io: Io): SourceFile[] {
  if (inputs.length === 0) throw new UsageError("check needs at least one PATH");
  const { files, missing } = collectFiles(inputs, io.cwd);
  if (missing.length) throw new UsageError(`no such file or directory: ${missing.join(", ")}`);
  return files
    .filter((f) => fileKind(f) && keep(repoPath(f, root, io.cwd)))
    .map((f) => ({ path: f, content: new Uint8Array(readFileSync(path.resolve(io.cwd, f))) }));
}

function diffFiles(
  extra: string[],
  base: string | undefined,
  head: string | undefined,
  root: string,
  keep: (p: string) => boolean,
  io: Io,
): SourceFile[] {
  if (extra.length) throw new UsageError(`diff takes no paths (got ${extra.join(" ")})`);
  if (!repoRoot(io.cwd)) throw new UsageError("diff needs a git repository");
  const from = base ?? defaultBase(root);
  assertRev(from, root);
  if (head) assertRev(head, root);
  const output = git(
    ["diff", "--no-color", "--no-ext-diff", "-M", "-U3", from, ...(head ? [head] : []), "--"],
    root,
  );
  const files: SourceFile[] = [];
  for (const d of parseGitDiff(output)) {
    if (!d.path || d.status === "removed" || !fileKind(d.path) || !keep(d.path)) continue;
    let content: Uint8Array;
    try {
      content = head
        ? new Uint8Array(gitBytes(["show", `${head}:${d.path}`], root))
        : new Uint8Array(readFileSync(path.join(root, d.path)));
    } catch {
      continue;
    }
    const shown = path.relative(io.cwd, path.join(root, d.path)).split(path.sep).join("/");
    files.push({ path: shown, content, lines: { added: d.added, commentable: d.commentable } });
  }
  return files;
}

function failing(result: ReviewResult, config: ResolvedConfig): boolean {
  if (config.failOn === "never") return false;
  const threshold = SEVERITY_RANK[config.failOn];
  return result.findings.some((f) => SEVERITY_RANK[f.severity] >= threshold);
}

function version(): string {
  return (JSON.parse(readFileSync(path.join(packageRoot(), "package.json"), "utf8")) as { version: string })
    .version;
}

function render(result: ReviewResult, format: Format, engine: Engine, io: Io, noColor: boolean): string {
  switch (format) {
    case "json":
      return formatJson(result);
    case "sarif":
      return formatSarif(result, { rules: engine.rules, version: version(), docsBaseUrl: DEFAULT_DOCS_URL });
    case "github":
      return formatGithubActions(result);
    default:
      return formatText(result, { color: io.isTTY && !noColor && !process.env.NO_COLOR });
  }
}

function listRules(engine: Engine, format: Format, io: Io): number {
  if (format === "json") {
    const rules = engine.rules.map((r) => ({
      id: r.id,
      pack: r.pack,
      severity: r.severity,
      default: r.default,
      summary: r.summary,
    }));
    io.stdout(`${JSON.stringify({ rules }, null, 2)}\n`);
    return 0;
  }
  const width = Math.max(...engine.rules.map((r) => r.id.length));
  for (const r of engine.rules) {
    io.stdout(
      `${r.id.padEnd(width)}  ${r.severity.padEnd(8)} ${r.default === "opt" ? "opt-in" : "on    "}  ${r.summary}\n`,
    );
  }
  io.stdout(`${engine.rules.length} rules.\n`);
  return 0;
}

function explain(engine: Engine, ids: string[], io: Io): number {
  if (ids.length !== 1) throw new UsageError("explain needs exactly one RULE-ID");
  const rule = engine.rule(ids[0]);
  if (!rule) {
    const near = engine.rules
      .filter((r) => r.id.includes(ids[0]) || ids[0].includes(r.name))
      .map((r) => r.id);
    throw new UsageError(
      `unknown rule "${ids[0]}"${near.length ? ` (did you mean ${near.slice(0, 3).join(", ")}?)` : ""}`,
    );
  }
  const d = rule.docs;
  io.stdout(
    [
      `${rule.id}  [${rule.severity}]${rule.default === "opt" ? " (opt-in)" : ""}`,
      "",
      rule.summary,
      "",
      "What it flags",
      indent(d.what),
      "",
      "Why it matters",
      indent(d.why),
      "",
      "Example",
      indent(d.example),
      "",
      "Fix",
      indent(d.fix),
      "",
    ].join("\n"),
  );
  return 0;
}

function indent(s: string): string {
  return s
    .trimEnd()
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}
