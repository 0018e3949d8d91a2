import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { isMap, isPair, isScalar, LineCounter, type Node, parseDocument } from "yaml";
import { buildSchema, TOP_LEVEL_KEYS } from "./schema.js";
import { hint } from "./suggest.js";
import {
  type ConfigError,
  type ConfigResult,
  type ConfigSeverity,
  DEFAULT_CONFIG,
  type ResolvedConfig,
  type RuleInfo,
  type RuleOverride,
} from "./types.js";

export const CONFIG_FILE = ".mlreview.yml";
export const MAX_CONFIG_BYTES = 64 * 1024;

const validators = new Map<string, ValidateFunction>();

function validatorFor(rules: readonly RuleInfo[]): ValidateFunction {
  const ruleIds = rules.map((r) => r.id).sort();
  const packs = [...new Set(rules.map((r) => r.pack))].sort();
  const key = ruleIds.join(",");
  let v = validators.get(key);
  if (!v) {
    v = new Ajv({ allErrors: true, strict: false }).compile(buildSchema({ ruleIds, packs }));
    validators.set(key, v);
  }
  return v;
}

/**
 * Parses and validates `.mlreview.yml`. Never throws: a broken file yields the defaults plus
 * errors positioned as `file:line:column`, with a did-you-mean where one is plausible.
 */
export function loadConfig(text: string, rules: readonly RuleInfo[], file = CONFIG_FILE): ConfigResult {
  const fail = (errors: ConfigError[]): ConfigResult => ({ config: structuredClone(DEFAULT_CONFIG), errors });
  if (text.length > MAX_CONFIG_BYTES) {
    return fail([
      { file, line: 1, column: 1, message: `the file is larger than ${MAX_CONFIG_BYTES / 1024} KB` },
    ]);
  }
  const lineCounter = new LineCounter();
  // Safe defaults: no custom tags, and alias expansion capped (an alias bomb is an error, not a hang).
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined) => {
    const p = lineCounter.linePos(offset ?? 0);
    return { line: p.line, column: p.col };
  };
  if (doc.errors.length > 0) {
    return fail(
      doc.errors.map((e) => ({ file, ...at(e.pos[0]), message: `YAML syntax: ${firstLine(e.message)}` })),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 50 });
  } catch (e) {
    return fail([{ file, line: 1, column: 1, message: `cannot be read: ${(e as Error).message}` }]);
  }
  if (data === null || data === undefined) return { config: structuredClone(DEFAULT_CONFIG), errors: [] };
  if (typeof data !== "object" || Array.isArray(data)) {
    return fail([{ file, line: 1, column: 1, message: "expected a mapping of settings at the top level" }]);
  }
  const validate = validatorFor(rules);
  if (!validate(data)) {
    const errors = explain(validate.errors ?? [], doc.contents as Node | null, rules, at, file);
    return fail(errors);
  }
  return { config: resolve(data as RawConfig), errors: [] };
}

interface RawConfig {
  rules?: Record<string, string | RuleOverride>;
  packs?: Record<string, "on" | "off">;
  paths?: { include?: string[]; exclude?: string[] };
  fail_on?: ResolvedConfig["failOn"];
  comment_on?: ConfigSeverity;
  max_comments?: number;
  filter?: ResolvedConfig["filter"];
}

function resolve(raw: RawConfig): ResolvedConfig {
  const rules: Record<string, RuleOverride> = {};
  for (const [id, state] of Object.entries(raw.rules ?? {})) {
    if (typeof state === "object") rules[id] = { ...state };
    else if (state === "on") rules[id] = { enabled: true };
    else if (state === "off") rules[id] = { enabled: false };
    else rules[id] = { enabled: true, severity: state as ConfigSeverity };
  }
  return {
    rules,
    packs: { ...(raw.packs ?? {}) },
    include: raw.paths?.include ?? [],
    exclude: raw.paths?.exclude ?? [],
    failOn: raw.fail_on ?? DEFAULT_CONFIG.failOn,
    commentOn: raw.comment_on ?? DEFAULT_CONFIG.commentOn,
    maxComments: raw.max_comments ?? DEFAULT_CONFIG.maxComments,
    filter: raw.filter ?? DEFAULT_CONFIG.filter,
  };
}

const TYPE_NAMES: Record<string, string> = {
  object: "a mapping",
  array: "a list",
  integer: "an integer",
  boolean: "true or false",
  string: "a string",
  number: "a number",
};

function firstLine(s: string): string {
  return s.split("\n")[0];
}

/** Finds the YAML node at a JSON pointer path; `key` returns the mapping key instead of the value. */
function nodeAt(root: Node | null, segments: string[], key = false): Node | null {
  let cur: Node | null = root;
  for (let i = 0; i < segments.length && cur; i++) {
    if (!isMap(cur)) return cur;
    const pair = cur.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === segments[i]);
    if (!pair) return cur;
    cur = (key && i === segments.length - 1 ? pair.key : pair.value) as Node | null;
  }
  return cur;
}

function explain(
  errors: ErrorObject[],
  root: Node | null,
  rules: readonly RuleInfo[],
  at: (offset: number | undefined) => { line: number; column: number },
  file: string,
): ConfigError[] {
  const out: ConfigError[] = [];
  const seen = new Set<string>();
  const ids = rules.map((r) => r.id);
  const packs = [...new Set(rules.map((r) => r.pack))];
  // oneOf failures repeat each branch's complaint; keep the most specific message per location.
  for (const e of errors) {
    const path = e.instancePath.split("/").slice(1).map(unescapePointer);
    let node = nodeAt(root, path);
    let message: string;
    const where = path.length ? path.join(".") : "top level";
    switch (e.keyword) {
      case "additionalProperties": {
        const name = String(e.params.additionalProperty);
        node = nodeAt(root, [...path, name], true);
        const allowed =
          path.length === 0 ? [...TOP_LEVEL_KEYS] : Object.keys((e.parentSchema?.properties as object) ?? {});
        message = `unknown key "${name}"${path.length ? ` in ${where}` : ""}${hint(name, allowed)}`;
        break;
      }
      case "propertyNames":
        continue; // reported by the enum error on the name itself
      case "enum": {
        if (e.propertyName !== undefined || e.instancePath === "" || e.schemaPath.includes("propertyNames")) {
          const name = String(e.propertyName ?? path[path.length - 1] ?? "");
          const isPack = path[0] === "packs" || e.schemaPath.startsWith("#/properties/packs");
          node = nodeAt(root, [...path, name], true);
          message = isPack
            ? `unknown pack "${name}"${hint(name, packs)}`
            : `unknown rule "${name}"${hint(name, ids)}`;
        } else {
          const allowed = (e.params.allowedValues as string[]) ?? [];
          const value = node && isScalar(node) ? String(node.value) : "";
          message = `${where} must be one of ${allowed.join(", ")}${hint(value, allowed)}`;
        }
        break;
      }
      case "oneOf":
        message = `${where} must be on, off, a severity (critical, warn, style) or { enabled, severity }`;
        break;
      case "type":
        message = `${where} must be ${TYPE_NAMES[String(e.params.type)] ?? `a ${e.params.type}`}`;
        break;
      default:
        message = `${where} ${e.message ?? "is not valid"}`;
    }
    const pos = at(node?.range?.[0]);
    const key = `${pos.line}:${pos.column}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ file, ...pos, message });
  }
  return out.sort((a, b) => a.line - b.line || a.column - b.column);
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, "/").replace(/~0/g, "~");
}

export function formatConfigError(e: ConfigError): string {
  return `${e.file}:${e.line}:${e.column}: ${e.message}`;
}
