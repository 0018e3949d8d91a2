import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import type { MatchSpec, RuleCase, RuleDocs, RuleMeta } from "./rule.js";
import { type FileKind, SEVERITIES, type Severity } from "./types.js";

export class RuleLoadError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

const here = path.dirname(fileURLToPath(import.meta.url));

/** The package root: the nearest folder above this module holding package.json. */
export function packageRoot(): string {
  let dir = here;
  while (!existsSync(path.join(dir, "package.json"))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error("cannot find mlreview's package.json");
    dir = up;
  }
  return dir;
}

/** Running from TypeScript sources (tests, tsx) or from the compiled `dist/`. */
const fromSource = import.meta.url.endsWith(".ts");

export function defaultRulesDir(): string {
  return path.join(packageRoot(), "rules");
}

const FILE_KINDS: FileKind[] = ["python", "yaml", "manifest"];
const KNOWN_KEYS = new Set([
  "id",
  "severity",
  "default",
  "summary",
  "message",
  "files",
  "triggers",
  "requires-import",
  "requires-text",
  "docs",
  "cases",
  "match",
  "query",
]);

/** Loads and validates every rule under `rulesDir`; a broken rule fails fast, naming its file. */
export function loadRules(rulesDir = defaultRulesDir()): RuleMeta[] {
  const rules: RuleMeta[] = [];
  const packs = readdirSync(rulesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith("_"))
    .map((d) => d.name)
    .sort();
  for (const pack of packs) {
    const dir = path.join(rulesDir, pack);
    for (const entry of readdirSync(dir).sort()) {
      if (!entry.endsWith(".yml")) continue;
      rules.push(loadRule(path.join(dir, entry), pack, entry.slice(0, -4), rulesDir));
    }
  }
  return rules;
}

function checkModulePath(rulesDir: string, pack: string, name: string): string | undefined {
  const ts = path.join(rulesDir, pack, `${name}.ts`);
  if (!existsSync(ts)) return undefined;
  if (fromSource) return ts;
  // Built: dist/ mirrors the repository, so rules/<pack>/<name>.ts becomes dist/rules/<pack>/<name>.js.
  const root = path.dirname(rulesDir);
  return path.join(root, "dist", "rules", pack, `${name}.js`);
}

// Parsing ~110 rule files with a full YAML parser dominates start-up, so `npm run build` stores
// each file's parsed document (keyed by a hash of its text) in dist/rule-cache.json. A file whose
// text changed since is simply parsed again.
const CACHE_FILE = () => path.join(packageRoot(), "dist", "rule-cache.json");
type RuleCache = Record<string, { hash: string; doc: Record<string, unknown> }>;
let cache: RuleCache | undefined;

function hashOf(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

function parseRuleYaml(rel: string, text: string): Record<string, unknown> {
  if (cache === undefined) {
    try {
      cache = JSON.parse(readFileSync(CACHE_FILE(), "utf8")) as RuleCache;
    } catch {
      cache = {};
    }
  }
  const hit = cache[rel];
  const hash = hashOf(text);
  if (hit && hit.hash === hash) return structuredClone(hit.doc);
  const doc = parseYaml(text) as Record<string, unknown>;
  cache[rel] = { hash, doc: structuredClone(doc) };
  return doc;
}

/** Writes the parsed-YAML cache for every rule under `rulesDir` (run by `npm run build`). */
export function writeRuleCache(rulesDir = defaultRulesDir()): number {
  cache = {};
  const rules = loadRules(rulesDir);
  writeFileSync(CACHE_FILE(), JSON.stringify(cache));
  return rules.length;
}

export function loadRule(file: string, pack: string, name: string, rulesDir: string): RuleMeta {
  const rel = path.relative(path.dirname(rulesDir), file);
  const fail = (reason: string): never => {
    throw new RuleLoadError(rel, reason);
  };
  let doc: Record<string, unknown>;
  try {
    doc = parseRuleYaml(rel, readFileSync(file, "utf8"));
  } catch (e) {
    return fail(`not valid YAML: ${(e as Error).message}`);
  }
  if (!doc || typeof doc !== "object") fail("expected a mapping");
  for (const key of Object.keys(doc)) if (!KNOWN_KEYS.has(key)) fail(`unknown key "${key}"`);
  const id = `${pack}/${name}`;
  if (doc.id !== undefined && doc.id !== id) fail(`id "${String(doc.id)}" does not match its path (${id})`);
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(name)) fail("rule file names are kebab-case");
  const severity = doc.severity as Severity;
  if (!SEVERITIES.includes(severity)) fail(`severity must be one of ${SEVERITIES.join(", ")}`);
  const def = doc.default ?? "on";
  if (def !== "on" && def !== "opt") fail('default must be "on" or "opt"');
  const str = (key: string): string => {
    const v = doc[key];
    if (typeof v !== "string" || !v.trim()) fail(`"${key}" must be a non-empty string`);
    return (v as string).trim();
  };
  const summary = str("summary");
  const message = str("message");
  const files = (doc.files ?? ["python"]) as FileKind[];
  if (!Array.isArray(files) || files.some((f) => !FILE_KINDS.includes(f))) {
    fail(`files must list kinds among ${FILE_KINDS.join(", ")}`);
  }
  const triggerSources = doc.triggers;
  if (!Array.isArray(triggerSources) || triggerSources.length === 0)
    fail("triggers must be a non-empty list");
  const triggers = (triggerSources as unknown[]).map((t) => {
    if (typeof t !== "string") return fail("each trigger is a regex string");
    try {
      return new RegExp(t as string, "m");
    } catch (e) {
      return fail(`trigger ${JSON.stringify(t)} is not a valid regex: ${(e as Error).message}`);
    }
  });
  const docs = doc.docs as RuleDocs;
  for (const key of ["what", "why", "example", "fix"] as const) {
    if (!docs || typeof docs[key] !== "string" || !docs[key].trim()) fail(`docs.${key} is required`);
  }
  const cases = doc.cases as { valid?: unknown; invalid?: unknown } | undefined;
  const readCases = (key: "valid" | "invalid"): RuleCase[] => {
    const list = cases?.[key];
    if (!Array.isArray(list) || list.length === 0) fail(`cases.${key} needs at least one case`);
    return (list as unknown[]).map((c, i) => {
      if (typeof c === "string") return { code: c };
      if (c && typeof c === "object" && typeof (c as RuleCase).code === "string") return c as RuleCase;
      return fail(`cases.${key}[${i}] must be a string or a mapping with "code"`);
    });
  };
  const checkFile = checkModulePath(rulesDir, pack, name);
  const tiers = [doc.match !== undefined, doc.query !== undefined, checkFile !== undefined].filter(
    Boolean,
  ).length;
  if (tiers !== 1) fail(`needs exactly one of "match", "query" or a ${name}.ts check (found ${tiers})`);
  const match = doc.match === undefined ? undefined : readMatch(doc.match, fail);
  if (doc.query !== undefined && (typeof doc.query !== "string" || !doc.query.includes("@report"))) {
    fail('query must be a string with an "@report" capture');
  }
  const requiresImport = doc["requires-import"];
  if (
    requiresImport !== undefined &&
    (!Array.isArray(requiresImport) || requiresImport.some((m) => typeof m !== "string"))
  ) {
    fail("requires-import must be a list of module names");
  }
  const textSources = doc["requires-text"];
  if (textSources !== undefined && (!Array.isArray(textSources) || textSources.length === 0))
    fail("requires-text must be a non-empty list of regexes");
  const requiresText = (textSources as unknown[] | undefined)?.map((t) => {
    if (typeof t !== "string") return fail("each requires-text entry is a regex string");
    try {
      return new RegExp(t, "m");
    } catch (e) {
      return fail(`requires-text ${JSON.stringify(t)} is not a valid regex: ${(e as Error).message}`);
    }
  });
  return {
    id,
    pack,
    name,
    severity,
    default: def as "on" | "opt",
    summary,
    message,
    files,
    triggers,
    requiresImport: requiresImport as string[] | undefined,
    requiresText,
    docs,
    cases: { valid: readCases("valid"), invalid: readCases("invalid") },
    tier: match ? "match" : doc.query !== undefined ? "query" : "check",
    match,
    query: doc.query as string | undefined,
    file,
    checkFile,
  };
}

function readMatch(raw: unknown, fail: (reason: string) => never): MatchSpec[] {
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((m, i) => {
    if (!m || typeof m !== "object") fail(`match[${i}] must be a mapping`);
    const spec = m as Record<string, unknown>;
    for (const key of Object.keys(spec)) {
      if (!["call", "missing", "present", "equals", "message"].includes(key))
        fail(`match[${i}]: unknown key "${key}"`);
    }
    const asList = (v: unknown): string[] | undefined =>
      v === undefined ? undefined : Array.isArray(v) ? v.map(String) : [String(v)];
    const call = asList(spec.call);
    if (!call?.length) fail(`match[${i}] needs "call"`);
    const equals = spec.equals as Record<string, unknown> | undefined;
    if (equals !== undefined && (typeof equals !== "object" || Array.isArray(equals))) {
      fail(`match[${i}].equals must map argument names to values`);
    }
    return {
      call: call!,
      missing: asList(spec.missing),
      present: asList(spec.present),
      equals: equals && Object.fromEntries(Object.entries(equals).map(([k, v]) => [k, asList(v)!])),
      message: typeof spec.message === "string" ? spec.message.trim() : undefined,
    };
  });
}
