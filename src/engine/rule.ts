import type { Node } from "web-tree-sitter";
import type { PythonModel, Span } from "./python/model.js";
import { triggerProbe } from "./triggers.js";
import type { FileKind, ProjectFiles, Severity } from "./types.js";
import type { YamlModel } from "./yaml/model.js";

// The rule format. A rule is `rules/<pack>/<name>.yml` plus, only when it needs logic,
// `rules/<pack>/<name>.ts` default-exporting a check made with `defineCheck`.

export interface RuleDocs {
  /** What the rule flags. */
  what: string;
  /** Why it matters. */
  why: string;
  /** Code that is flagged. */
  example: string;
  /** The same code, fixed. */
  fix: string;
}

export interface RuleCase {
  /** The file's text; lines ending in `# expect` must be flagged (the marker is removed before running). */
  code: string;
  /** The file's path (decides its kind); defaults to `case.py`. */
  path?: string;
  /** Dependency manifests visible to the rule (path → text). */
  manifests?: Record<string, string>;
  /** Lines treated as added; omit for whole-file mode. */
  added?: number[];
}

/** One declarative call match: every condition given must hold. */
export interface MatchSpec {
  /** Qualified call names (`yaml.load`, `mlflow.*.log_model`). */
  call: string[];
  /** Arguments that must all be absent: `name` or `name@position` (0-based positional index). */
  missing?: string[];
  /** Arguments that must all be present. */
  present?: string[];
  /** Argument → accepted values (qualified names or literal text) it must equal. */
  equals?: Record<string, string[]>;
  /** Message for this match; the rule's message otherwise. */
  message?: string;
}

export interface RuleMeta {
  id: string;
  pack: string;
  name: string;
  severity: Severity;
  /** `on` by default, or `opt` (opt-in). */
  default: "on" | "opt";
  /** One line: what the rule flags (listings, docs). */
  summary: string;
  /** The finding message: what is wrong and how to fix it. */
  message: string;
  /** File kinds the rule reads. */
  files: FileKind[];
  /** Regexes tested against added lines; the rule runs only on files where one matches. */
  triggers: RegExp[];
  /** The rule runs only in Python files importing one of these modules (prefix match). */
  requiresImport?: string[];
  /** The rule runs only on files whose whole text matches one of these (a precondition; triggers still decide). */
  requiresText?: RegExp[];
  docs: RuleDocs;
  cases: { valid: RuleCase[]; invalid: RuleCase[] };
  tier: "match" | "query" | "check";
  match?: MatchSpec[];
  query?: string;
  /** Absolute path of the rule's YAML file. */
  file: string;
  /** Absolute path of the check module (`.ts` in source, `.js` when built), for `check` rules. */
  checkFile?: string;
}

export interface FixInput {
  description: string;
  /** Replace each range with `text`. Ranges are nodes or spans of the current file. */
  edits: { at: Node | Span | { start: number; end: number }; text: string }[];
}

export interface ReportOptions {
  message?: string;
  fix?: FixInput;
}

export type ReportTarget = Node | Span | { line: number; column?: number; endLine?: number };

export interface CheckContext {
  rule: RuleMeta;
  path: string;
  kind: FileKind;
  text: string;
  /** The file's lines (index 0 is line 1). */
  lines: string[];
  /** Present for Python files. */
  py: PythonModel;
  /** Present for YAML files. */
  yaml: YamlModel;
  project: ProjectFiles;
  /** True when the line was added by the change (always true in whole-file mode). */
  isAdded(line: number): boolean;
  /** True when the whole file is being reviewed (no diff). */
  wholeFile: boolean;
  /** Import aliases of the file (`tts` → `train_test_split`), as the engine read them to wake rules. */
  aliases: ReadonlyMap<string, string>;
  report(target: ReportTarget, options?: ReportOptions): void;
}

export type Check = (ctx: CheckContext) => void;

/** Marks a module's default export as a rule check; the engine calls it once per file. */
export function defineCheck(check: Check): Check {
  return check;
}

/**
 * True when line `line` (1-based) matches one of the rule's triggers, reading import aliases the
 * way the engine does when it wakes rules (`tts(X, y)` matches a `train_test_split` trigger). A
 * check reports on such lines, so a finding never lands where no trigger could have woken it.
 */
export function onTriggerLine(ctx: CheckContext, line: number): boolean {
  const probe = triggerProbe([ctx.lines[line - 1] ?? ""], ctx.aliases);
  return ctx.rule.triggers.some((t) => t.test(probe));
}
