import { pathToFileURL } from "node:url";
import type { Node, Query, QueryMatch } from "web-tree-sitter";
import { decode, fileKind } from "./decode.js";
import { fingerprint, normaliseLine } from "./fingerprint.js";
import { loadRules } from "./load-rules.js";
import { runMatch } from "./match.js";
import { anyNameMatches, resolveDotted } from "./names.js";
import { compileQuery, initParser } from "./parser.js";
import { INDEX_QUERY, PythonModel, type Span, spanOf } from "./python/model.js";
import type { Check, CheckContext, FixInput, ReportOptions, ReportTarget, RuleMeta } from "./rule.js";
import { readSuppressions } from "./suppress.js";
import { importAliases, importedRoots, mayImport, requiredLiterals, triggerProbe } from "./triggers.js";
import type {
  FileKind,
  Finding,
  Fix,
  ProjectFiles,
  ReviewOptions,
  ReviewResult,
  RuleSelection,
  SourceFile,
  TextEdit,
} from "./types.js";
import { YamlModel } from "./yaml/model.js";

export const DEFAULT_DOCS_URL = "https://github.com/mlreview/mlreview/blob/main/docs/rules";

/** A finding before the engine gives it severity, fingerprint and docs link. */
interface RawFinding {
  rule: RuleMeta;
  span: Span;
  message: string;
  fix?: Fix;
}

/** Combined tier-2 query: every `query:` rule's patterns compiled once, with pattern → rule. */
interface QueryTable {
  query: Query;
  ruleOfPattern: RuleMeta[];
}

const EMPTY_PROJECT: ProjectFiles = { manifests: new Map() };

export class Engine {
  private indexQuery?: Query;
  private queryTable?: Promise<QueryTable | undefined>;
  private readonly checks = new Map<string, Promise<Check>>();

  private constructor(readonly rules: RuleMeta[]) {}

  /** Loads the rules (validating each) and the parser. */
  static async create(options: { rulesDir?: string; rules?: RuleMeta[] } = {}): Promise<Engine> {
    const rules = options.rules ?? loadRules(options.rulesDir);
    const engine = new Engine(rules);
    const { language } = await initParser();
    const { Query } = await import("web-tree-sitter");
    engine.indexQuery = new Query(language, INDEX_QUERY);
    return engine;
  }

  rule(id: string): RuleMeta | undefined {
    return this.rules.find((r) => r.id === id);
  }

  /** Reviews files one after another; a file that cannot be read is skipped with its reason. */
  async review(files: readonly SourceFile[], options: ReviewOptions): Promise<ReviewResult> {
    const result: ReviewResult = { findings: [], files: 0, skipped: [], notes: [] };
    for (const file of files) {
      const kind = fileKind(file.path);
      if (!kind) continue;
      result.files++;
      const decoded = decode(file.content);
      if ("skip" in decoded) {
        result.skipped.push({ path: file.path, reason: decoded.skip });
        continue;
      }
      try {
        const { findings, notes } = await this.reviewText(file, decoded.text, kind, options);
        result.findings.push(...findings);
        result.notes.push(...notes);
      } catch (e) {
        result.skipped.push({ path: file.path, reason: `could not be reviewed: ${(e as Error).message}` });
      }
    }
    return result;
  }

  private triggered(
    kind: FileKind,
    probe: string,
    selection: RuleSelection,
    roots: ReadonlySet<string> | undefined,
    text: string,
  ): RuleMeta[] {
    return this.rules.filter(
      (r) =>
        selection.has(r.id) &&
        r.files.includes(kind) &&
        (!roots || !r.requiresImport || mayImport(roots, r.requiresImport)) &&
        (!r.requiresText || r.requiresText.some((re) => re.test(text))) &&
        this.gatesOf(r).some(
          (g) => (!g.literals || g.literals.some((l) => probe.includes(l))) && g.re.test(probe),
        ),
    );
  }

  private readonly gates = new Map<string, { re: RegExp; literals?: string[] }[]>();
  /** Each trigger with the literal text any match must contain: `includes` is far cheaper than a regex scan. */
  private gatesOf(rule: RuleMeta) {
    let g = this.gates.get(rule.id);
    if (!g) {
      g = rule.triggers.map((re) => ({ re, literals: requiredLiterals(re) }));
      this.gates.set(rule.id, g);
    }
    return g;
  }

  private loadCheck(rule: RuleMeta): Promise<Check> {
    let p = this.checks.get(rule.id);
    if (!p) {
      p = import(pathToFileURL(rule.checkFile!).href).then((m: { default?: Check }) => {
        if (typeof m.default !== "function")
          throw new Error(`${rule.checkFile} has no default-exported check`);
        return m.default;
      });
      this.checks.set(rule.id, p);
    }
    return p;
  }

  private async reviewText(
    file: SourceFile,
    text: string,
    kind: FileKind,
    options: ReviewOptions,
  ): Promise<{ findings: Finding[]; notes: string[] }> {
    const lines = text.split(/\r?\n/);
    let starts: number[] | undefined;
    const lineStarts = () => {
      starts ??= computeLineStarts(text);
      return starts;
    };
    const added = file.lines?.added;
    const probeLines = added ? [...added].map((n) => lines[n - 1] ?? "") : lines;
    const aliases = kind === "python" ? importAliases(text) : new Map<string, string>();
    const roots = kind === "python" ? importedRoots(text) : undefined;
    const rules = this.triggered(kind, triggerProbe(probeLines, aliases), options.selection, roots, text);
    if (rules.length === 0) return { findings: [], notes: [] };
    const checks = new Map<string, Check>();
    for (const rule of rules) if (rule.tier === "check") checks.set(rule.id, await this.loadCheck(rule));
    const table = rules.some((r) => r.tier === "query") ? await this.compiledQueries() : undefined;

    const raw: RawFinding[] = [];
    const notes: string[] = [];
    const project = options.project ?? EMPTY_PROJECT;
    const base = { path: file.path, kind, text, lines, project, wholeFile: !added, aliases };
    const isAdded = added ? (line: number) => added.has(line) : () => true;
    const runCheck = (rule: RuleMeta, ctx: CheckContext, check: Check) => {
      try {
        check(ctx);
      } catch (e) {
        notes.push(`${rule.id} failed on ${file.path}: ${(e as Error).message}`);
      }
    };
    const contextFor = (rule: RuleMeta, models: { py?: PythonModel; yaml?: YamlModel }): CheckContext => ({
      ...base,
      rule,
      isAdded,
      py: models.py as PythonModel,
      yaml: models.yaml as YamlModel,
      report: (target: ReportTarget, opts?: ReportOptions) =>
        raw.push(this.toRaw(rule, target, opts, text, lineStarts)),
    });

    if (kind === "python") {
      const { parser } = await initParser();
      const tree = parser.parse(text);
      if (!tree) throw new Error("the Python parser returned no tree");
      try {
        const py = new PythonModel(tree, text, this.indexQuery!);
        const active = rules.filter((r) => !r.requiresImport || py.importsModule(...r.requiresImport));
        for (const rule of active) {
          if (rule.tier === "match") {
            for (const hit of runMatch(rule.match!, py)) {
              raw.push(this.toRaw(rule, hit.call, { message: hit.message }, text, lineStarts));
            }
          } else if (rule.tier === "check") {
            runCheck(rule, contextFor(rule, { py }), checks.get(rule.id)!);
          }
        }
        if (table) {
          const wanted = new Set(active.filter((r) => r.tier === "query").map((r) => r.id));
          for (const m of table.query.matches(tree.rootNode)) {
            const rule = table.ruleOfPattern[m.patternIndex];
            if (!rule || !wanted.has(rule.id) || !customPredicatesHold(table.query, m, py)) continue;
            const node = m.captures.find((c) => c.name === "report")?.node;
            if (node) raw.push(this.toRaw(rule, node, undefined, text, lineStarts));
          }
        }
        // Findings inside unparsable code would be guesses.
        const kept = raw.filter(
          (f) => !py.errors.some((e) => e.start <= f.span.start && f.span.end <= e.end),
        );
        raw.length = 0;
        raw.push(...kept);
      } finally {
        tree.delete();
      }
    } else {
      const yaml = kind === "yaml" ? new YamlModel(text) : undefined;
      for (const rule of rules) {
        if (rule.tier !== "check") continue;
        runCheck(rule, contextFor(rule, { yaml }), checks.get(rule.id)!);
      }
    }
    return { findings: this.finish(raw, file, lines, options), notes };
  }

  private finish(raw: RawFinding[], file: SourceFile, lines: string[], options: ReviewOptions): Finding[] {
    const suppressions = readSuppressions(lines);
    const keepLine = diffFilter(file, options);
    const docsBase = options.docsBaseUrl ?? DEFAULT_DOCS_URL;
    const seen = new Map<string, number>();
    const out: Finding[] = [];
    raw.sort(
      (a, b) =>
        a.span.line - b.span.line || a.span.column - b.span.column || a.rule.id.localeCompare(b.rule.id),
    );
    const unique = new Set<string>();
    for (const f of raw) {
      const key = `${f.rule.id}:${f.span.line}:${f.span.column}`;
      if (unique.has(key)) continue;
      unique.add(key);
      if (suppressions.isSuppressed(f.rule.id, f.span.line)) continue;
      const line = keepLine(f.span);
      if (line === undefined) continue;
      const setting = options.selection.get(f.rule.id)!;
      const lineText = lines[line - 1] ?? "";
      const occKey = `${f.rule.id}\u0000${normaliseLine(lineText)}`;
      const occurrence = seen.get(occKey) ?? 0;
      seen.set(occKey, occurrence + 1);
      out.push({
        rule: f.rule.id,
        severity: setting.severity,
        path: file.path,
        line,
        endLine: Math.max(line, f.span.endLine),
        column: line === f.span.line ? f.span.column : 1,
        message: f.message,
        ...(f.fix ? { fix: f.fix } : {}),
        fingerprint: fingerprint(f.rule.id, file.path, lineText, occurrence),
        snippet: lineText.trim(),
        docsUrl: `${docsBase}/${f.rule.pack}/${f.rule.name}.md`,
      });
    }
    return out;
  }

  private toRaw(
    rule: RuleMeta,
    target: ReportTarget,
    opts: ReportOptions | undefined,
    text: string,
    lineStarts: () => number[],
  ): RawFinding {
    return {
      rule,
      span: targetSpan(target, text, lineStarts),
      message: opts?.message ?? rule.message,
      fix: opts?.fix ? buildFix(opts.fix, text, lineStarts()) : undefined,
    };
  }

  private compiledQueries(): Promise<QueryTable | undefined> {
    this.queryTable ??= (async () => {
      const queryRules = this.rules.filter((r) => r.tier === "query");
      if (queryRules.length === 0) return undefined;
      const ruleOfPattern: RuleMeta[] = [];
      for (const rule of queryRules) {
        const q = await compileQuery(rule.query!);
        for (let i = 0; i < q.patternCount(); i++) ruleOfPattern.push(rule);
        q.delete();
      }
      return { query: await compileQuery(queryRules.map((r) => r.query).join("\n")), ruleOfPattern };
    })();
    return this.queryTable;
  }
}

/** Evaluates mlreview's own predicates: `(#qname? @cap "yaml.load" …)` and `(#not-qname? …)`. */
function customPredicatesHold(query: Query, match: QueryMatch, py: PythonModel): boolean {
  for (const pred of query.predicates[match.patternIndex] ?? []) {
    if (pred.operator !== "qname?" && pred.operator !== "not-qname?") continue;
    const [cap, ...values] = pred.operands;
    if (cap?.type !== "capture") continue;
    const node = match.captures.find((c) => c.name === cap.name)?.node;
    const name = node ? resolveDotted(node.text, py.imports)?.name : undefined;
    const patterns = values.map((v) => (v.type === "string" ? v.value : ""));
    const hit = anyNameMatches(name, patterns);
    if (hit !== (pred.operator === "qname?")) return false;
  }
  return true;
}

function targetSpan(target: ReportTarget, text: string, lineStarts: () => number[]): Span {
  if ("startIndex" in target) return spanOf(target as Node);
  if ("start" in target) return target as Span;
  const t = target as { line: number; column?: number; endLine?: number };
  // A bare line: locate it by offset so ERROR-node filtering still works.
  const starts = lineStarts();
  const start = starts[Math.min(t.line, starts.length) - 1] ?? 0;
  let column = t.column;
  if (column === undefined) {
    column = 1;
    while (text[start + column - 1] === " " || text[start + column - 1] === "\t") column++;
  }
  return {
    start: start + column - 1,
    end: start + column - 1,
    line: t.line,
    endLine: t.endLine ?? t.line,
    column,
  };
}

function computeLineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/** Decides which line a finding is reported on under the diff filter, or undefined to drop it. */
function diffFilter(file: SourceFile, options: ReviewOptions): (span: Span) => number | undefined {
  const sets = file.lines;
  if (!sets) return (span) => span.line;
  const allowed = options.filter === "diff_context" ? sets.commentable : sets.added;
  return (span) => {
    if (allowed.has(span.line)) return span.line;
    // A multi-line construct (a call split over lines) counts when one of its first lines changed.
    const last = Math.min(span.endLine, span.line + 10);
    for (let l = span.line + 1; l <= last; l++) if (sets.added.has(l)) return l;
    return undefined;
  };
}

function offsetToPosition(
  text: string,
  offset: number,
  lineStarts: number[],
): { line: number; column: number } {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: Math.min(offset, text.length) - lineStarts[lo] + 1 };
}

function buildFix(input: FixInput, text: string, lineStarts: number[]): Fix {
  const ranges = input.edits
    .map((e) => {
      const at = e.at as { startIndex?: number; endIndex?: number; start?: number; end?: number };
      const start = at.startIndex ?? at.start!;
      const end = at.endIndex ?? at.end!;
      return { start, end, text: e.text };
    })
    .sort((a, b) => a.start - b.start);
  const edits: TextEdit[] = ranges.map((r) => {
    const a = offsetToPosition(text, r.start, lineStarts);
    const b = offsetToPosition(text, r.end, lineStarts);
    return { line: a.line, column: a.column, endLine: b.line, endColumn: b.column, text: r.text };
  });
  const startLine = edits[0]?.line ?? 1;
  const endLine = Math.max(...edits.map((e) => e.endLine));
  const from = lineStarts[startLine - 1];
  const to = endLine < lineStarts.length ? lineStarts[endLine] - 1 : text.length;
  let region = text.slice(from, to);
  for (const r of [...ranges].reverse())
    region = region.slice(0, r.start - from) + r.text + region.slice(r.end - from);
  return {
    description: input.description,
    edits,
    replacement: { startLine, endLine, text: region.replace(/\r$/, "") },
  };
}
