// Data that crosses the engine's boundary. Plain data in, plain data out: the CLI, the App and
// the tests all drive the engine through these shapes.

export type Severity = "critical" | "warn" | "style";
export const SEVERITIES: readonly Severity[] = ["critical", "warn", "style"];

/** Higher is more severe; used for `fail_on` / `comment_on` thresholds. */
export const SEVERITY_RANK: Record<Severity, number> = { style: 1, warn: 2, critical: 3 };

export type FileKind = "python" | "yaml" | "manifest";

/** Which lines of a file the diff touches. `undefined` lines mean "whole file" (every line added). */
export interface LineSets {
  /** Lines added by the change (1-based, right side). */
  added: ReadonlySet<number>;
  /** Right-side lines inside the diff's hunks: added and context lines. */
  commentable: ReadonlySet<number>;
}

export interface SourceFile {
  /** Path relative to the repository root, with forward slashes. */
  path: string;
  /** Raw bytes or already-decoded text. */
  content: string | Uint8Array;
  /** Lines the change touches; omit to review the whole file as if every line were added. */
  lines?: LineSets;
}

/** A text edit inside one file; lines and columns are 1-based, the end is exclusive. */
export interface TextEdit {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  text: string;
}

export interface Fix {
  description: string;
  edits: TextEdit[];
  /** The whole lines `startLine..endLine` as they read after the fix (for review suggestions). */
  replacement: { startLine: number; endLine: number; text: string };
}

export interface Finding {
  rule: string;
  severity: Severity;
  path: string;
  line: number;
  endLine: number;
  /** 1-based column of the flagged node's start. */
  column: number;
  message: string;
  fix?: Fix;
  /** Stable across unrelated edits: rule + path + normalised flagged text + occurrence index. */
  fingerprint: string;
  /** The flagged line's text, trimmed, for reports. */
  snippet: string;
  /** Link to the rule's documentation. */
  docsUrl: string;
}

export interface SkippedFile {
  path: string;
  reason: string;
}

export interface ReviewResult {
  findings: Finding[];
  /** Files the engine looked at (whether or not any rule ran). */
  files: number;
  skipped: SkippedFile[];
  /** Non-fatal notes worth showing the user (for example a rule that crashed on one file). */
  notes: string[];
}

/** Dependency manifests and other repository files some rules read besides the changed file. */
export interface ProjectFiles {
  /** Path → text, for `requirements*.txt` and `pyproject.toml` at any depth the front end chose. */
  manifests: ReadonlyMap<string, string>;
}

/** Effective settings for one rule in one review. */
export interface RuleSetting {
  severity: Severity;
}

/** Which rules run, and at which severity: the config module resolves it, the engine obeys it. */
export type RuleSelection = ReadonlyMap<string, RuleSetting>;

export type DiffFilter = "added" | "diff_context";

export interface ReviewOptions {
  selection: RuleSelection;
  /** Keep findings on added lines only (default) or on any commentable line. */
  filter?: DiffFilter;
  project?: ProjectFiles;
  /** Base URL of rule docs; the rule's `<pack>/<name>` is appended. */
  docsBaseUrl?: string;
}
