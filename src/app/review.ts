// One review of one head commit, following design.md's "path of one review".
import {
  CONFIG_FILE,
  formatConfigError,
  loadConfig,
  MAX_CONFIG_BYTES,
  pathFilter,
  selectRules,
} from "../config/index.js";
import type { ConfigError, ResolvedConfig } from "../config/types.js";
import { type DiffLines, parsePatch } from "../diff/patch.js";
import { fileKind } from "../engine/decode.js";
import { DEFAULT_DOCS_URL, type Engine } from "../engine/engine.js";
import { type Finding, SEVERITY_RANK, type SkippedFile, type SourceFile } from "../engine/types.js";
import {
  type ChangedFile,
  type Conclusion,
  type Content,
  fetchContents,
  finishCheckRun,
  GitHubClient,
  GitHubError,
  getPull,
  listChangedFiles,
  MAX_LISTED_FILES,
  type Octokit,
  openAppThreads,
  postedComments,
  postReview,
  type RetryPolicy,
  type ReviewComment,
  readTextFile,
  resolveThread,
  startCheckRun,
} from "../github/index.js";
import { annotations, checkSummary, checkTitle } from "../report/check-run.js";
import { commentBody } from "../report/comment.js";
import { codeSpan } from "../report/escape.js";
import { MANIFEST_PATHS, needsManifests } from "./manifests.js";
import type { Job } from "./queue.js";

export interface ReviewJob extends Job {
  octokit: Octokit;
  owner: string;
  repo: string;
  number: number;
  defaultBranch: string;
  delivery: string;
}

export interface ReviewDeps {
  engine: () => Promise<Engine>;
  botLogin: () => Promise<string>;
  retry: RetryPolicy;
  log: Logger;
  /** Narrows the rules beyond the config (tests use it to stay independent of the rule set). */
  select?: readonly string[];
}

export interface Logger {
  info: (obj: object, msg: string) => void;
  warn: (obj: object, msg: string) => void;
  error: (obj: object, msg: string) => void;
}

class Superseded extends Error {
  constructor(readonly by: string) {
    super(`superseded by ${by}`);
  }
}

export function superseded(by: string) {
  return {
    title: "Superseded",
    summary: `This commit was superseded by ${by} before its review finished; that commit gets the review.`,
  };
}

/** Runs the review of `job.sha`; every path ends the check run it created. */
export async function runReview(job: ReviewJob, deps: ReviewDeps): Promise<void> {
  const started = Date.now();
  const gh = new GitHubClient(job.octokit, job.owner, job.repo, deps.retry, deps.log);
  const logBase = { repo: `${job.owner}/${job.repo}`, pr: job.number, head: job.sha, delivery: job.delivery };
  const stopIfSuperseded = () => {
    if (job.supersededBy) throw new Superseded(job.supersededBy);
  };
  let checkId: number | undefined;
  let stats = { files: 0, findings: 0, comments: 0, resolved: 0 };
  let conclusion: Conclusion | "stopped" = "neutral";
  try {
    checkId = await startCheckRun(gh, job.sha);
    stopIfSuperseded();
    const outcome = await review(gh, job, deps, stopIfSuperseded, checkId);
    stats = outcome.stats;
    conclusion = outcome.conclusion;
  } catch (e) {
    if (e instanceof Superseded) {
      conclusion = "neutral";
      if (checkId !== undefined) await finishQuietly(gh, checkId, superseded(e.by), deps.log);
    } else if (e instanceof GitHubError && e.gone) {
      // The installation was removed or lost access: stop. One last, unretried attempt to close the
      // check run keeps it from hanging in progress when only part of the access went away.
      conclusion = "stopped";
      deps.log.warn({ ...logBase, status: e.status, reason: e.message }, "review stopped: no access");
      if (checkId !== undefined) {
        await finishQuietly(
          gh,
          checkId,
          {
            title: "Review stopped",
            summary: `mlreview lost access while reviewing (GitHub answered ${e.status}) and stopped without posting.`,
          },
          deps.log,
        );
      }
    } else {
      conclusion = "neutral";
      const reason = e instanceof GitHubError ? e.message : "mlreview hit an internal error";
      if (!(e instanceof GitHubError)) deps.log.error({ ...logBase, err: e }, "review failed");
      if (checkId !== undefined) {
        await finishQuietly(
          gh,
          checkId,
          { title: "Review could not run", summary: `The review could not run: ${reason}.` },
          deps.log,
        );
      }
    }
  }
  deps.log.info(
    { ...logBase, ...stats, conclusion, apiCalls: gh.calls, retries: gh.retries, ms: Date.now() - started },
    "review finished",
  );
}

async function finishQuietly(
  gh: GitHubClient,
  checkId: number,
  output: { title: string; summary: string },
  log: Logger,
): Promise<void> {
  try {
    await finishCheckRun(gh, checkId, "neutral", output);
  } catch (e) {
    log.warn({ checkId, reason: (e as Error).message }, "could not complete the check run");
  }
}

/** The repository's dependency manifests at the head, when a changed file needs them. */
async function repositoryManifests(
  gh: GitHubClient,
  sha: string,
  sources: readonly SourceFile[],
  fetched: ReadonlyMap<string, Content>,
): Promise<Map<string, string>> {
  const manifests = new Map<string, string>();
  const decoder = new TextDecoder("utf-8", { fatal: false });
  const texts = sources
    .filter((s) => fileKind(s.path) === "python")
    .map((s) => (typeof s.content === "string" ? s.content : decoder.decode(s.content)));
  if (!needsManifests(texts)) return manifests;
  const missing = MANIFEST_PATHS.filter((p) => !fetched.has(p));
  const more = missing.length > 0 ? await fetchContents(gh, sha, missing) : new Map<string, Content>();
  for (const p of MANIFEST_PATHS) {
    const c = fetched.get(p) ?? more.get(p);
    if (c && "bytes" in c) manifests.set(p, decoder.decode(c.bytes));
  }
  return manifests;
}

interface Outcome {
  conclusion: Conclusion;
  stats: { files: number; findings: number; comments: number; resolved: number };
}

async function review(
  gh: GitHubClient,
  job: ReviewJob,
  deps: ReviewDeps,
  stopIfSuperseded: () => void,
  checkId: number,
): Promise<Outcome> {
  const engine = await deps.engine();
  const notes: string[] = [];
  const skipped: SkippedFile[] = [];

  const config = await defaultBranchConfig(gh, job.defaultBranch, engine, notes);
  stopIfSuperseded();

  const changed = await listChangedFiles(gh, job.number);
  stopIfSuperseded();
  const keep = pathFilter(config);
  const wanted: ChangedFile[] = [];
  let prConfig: ChangedFile | undefined;
  for (const f of changed) {
    if (f.status === "removed") continue;
    if (f.path === CONFIG_FILE) prConfig = f;
    if (!fileKind(f.path) || !keep(f.path)) continue;
    if (!f.patch && f.changes === 0) continue; // renamed or mode change only: nothing added
    wanted.push(f);
  }

  const fetchPaths = wanted.map((f) => f.path);
  if (prConfig) fetchPaths.push(CONFIG_FILE);
  const contents = await fetchContents(gh, job.sha, [...new Set(fetchPaths)]);
  stopIfSuperseded();

  if (prConfig) notes.push(prConfigNote(contents.get(CONFIG_FILE), engine));

  const sources: SourceFile[] = [];
  const diffs = new Map<string, DiffLines>();
  for (const f of wanted) {
    const c = contents.get(f.path);
    if (!c || "missing" in c) {
      skipped.push({ path: f.path, reason: "not found at the head commit" });
      continue;
    }
    if ("skip" in c) {
      skipped.push({ path: f.path, reason: c.skip });
      continue;
    }
    if (f.patch) {
      const lines = parsePatch(f.patch);
      diffs.set(f.path, lines);
      sources.push({ path: f.path, content: c.bytes, lines });
    } else {
      // GitHub sends no patch for very large diffs: review the whole file, annotate only.
      notes.push(
        `${codeSpan(f.path)}: GitHub sent no diff for it, so it was reviewed whole and gets no inline comments.`,
      );
      sources.push({ path: f.path, content: c.bytes });
    }
  }

  const manifests = await repositoryManifests(gh, job.sha, sources, contents);
  stopIfSuperseded();

  const selection = selectRules(config, engine.rules, deps.select);
  const result = await engine.review(sources, {
    selection,
    filter: config.filter,
    docsBaseUrl: DEFAULT_DOCS_URL,
    project: { manifests },
  });
  skipped.push(...result.skipped);
  notes.push(...result.notes.map(escapeNote));
  const findings = result.findings;
  stopIfSuperseded();

  const pull = await getPull(gh, job.number);
  if (pull.headSha !== job.sha) throw new Superseded(pull.headSha);
  if (pull.changedFiles > changed.length) {
    notes.push(
      `GitHub lists at most ${MAX_LISTED_FILES.toLocaleString("en-US")} files of a pull request: ${changed.length.toLocaleString("en-US")} of its ${pull.changedFiles.toLocaleString("en-US")} changed files were reviewed.`,
    );
  }

  const botLogin = await deps.botLogin();
  const posted = await postedComments(gh, job.number, botLogin);
  stopIfSuperseded();

  const inline = planComments(findings, diffs, config, posted.fingerprints);
  let commented = 0;
  if (inline.comments.length > 0 && !posted.reviewedCommits.has(job.sha)) {
    const body = reviewBody(inline.comments.length, inline.overCap);
    const fallback = `mlreview found ${findings.length} problem${findings.length === 1 ? "" : "s"} in this commit; GitHub would not take them as inline comments, so they are in the **mlreview** check run.`;
    try {
      const { inline: ok } = await postReview(gh, job.number, job.sha, body, inline.comments, fallback);
      commented = ok ? inline.comments.length : 0;
      if (!ok) notes.push("GitHub refused the inline comments; the findings are listed here only.");
    } catch (e) {
      if (e instanceof GitHubError && e.gone) throw e;
      notes.push(`The review could not be posted: ${escapeNote((e as Error).message)}.`);
    }
  }

  const reviewed = new Set(sources.map((s) => s.path));
  const current = new Set(findings.map((f) => f.fingerprint));
  let resolved = 0;
  const threads = await openAppThreads(gh, job.number, botLogin);
  for (const t of threads) {
    if (!reviewed.has(t.path) || t.fingerprints.some((fp) => current.has(fp))) continue;
    await resolveThread(gh, t.id);
    resolved++;
  }

  const conclusion = failing(findings, config) ? "failure" : "success";
  await finishCheckRun(
    gh,
    checkId,
    conclusion,
    {
      title: checkTitle(findings),
      summary: checkSummary({
        findings,
        skipped,
        notes,
        files: result.files,
        commented,
        overCap: inline.overCap,
      }),
    },
    annotations(findings),
  );
  return {
    conclusion,
    stats: { files: result.files, findings: findings.length, comments: commented, resolved },
  };
}

async function defaultBranchConfig(
  gh: GitHubClient,
  branch: string,
  engine: Engine,
  notes: string[],
): Promise<ResolvedConfig> {
  const file = await readTextFile(gh, CONFIG_FILE, branch, MAX_CONFIG_BYTES);
  if (!file) return loadConfig("", engine.rules).config;
  if ("tooLarge" in file) {
    notes.push(
      `${codeSpan(CONFIG_FILE)} on ${codeSpan(branch)} is larger than ${MAX_CONFIG_BYTES / 1024} KB; the defaults were used.`,
    );
    return loadConfig("", engine.rules).config;
  }
  const { config, errors } = loadConfig(file.text, engine.rules);
  if (errors.length > 0) {
    notes.push(
      `${codeSpan(CONFIG_FILE)} on ${codeSpan(branch)} has ${plural(errors.length, "error")}, so the defaults were used:${errorList(errors)}`,
    );
  }
  return config;
}

function prConfigNote(content: Content | undefined, engine: Engine): string {
  const head = `This pull request changes ${codeSpan(CONFIG_FILE)}; the review uses the default branch's settings (a pull request cannot change its own review)`;
  if (!content || !("bytes" in content)) {
    const why = content && "skip" in content ? ` (${content.skip})` : "";
    return `${head}, and its new version could not be read${why}.`;
  }
  const text = new TextDecoder().decode(content.bytes);
  const { errors } = loadConfig(text, engine.rules);
  if (errors.length === 0) return `${head}. Its new version is valid.`;
  return `${head}. Its new version has ${plural(errors.length, "error")}:${errorList(errors)}`;
}

function errorList(errors: readonly ConfigError[]): string {
  return errors
    .slice(0, 20)
    .map((e) => `\n  - ${codeSpan(formatConfigError(e))}`)
    .join("");
}

function escapeNote(s: string): string {
  return s.replace(/[&<>@]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function failing(findings: readonly Finding[], config: ResolvedConfig): boolean {
  if (config.failOn === "never") return false;
  const threshold = SEVERITY_RANK[config.failOn];
  return findings.some((f) => SEVERITY_RANK[f.severity] >= threshold);
}

function reviewBody(comments: number, overCap: number): string {
  const more = overCap > 0 ? ` ${overCap} more are listed in the **mlreview** check run.` : "";
  return `mlreview left ${plural(comments, "comment")} on this commit.${more}`;
}

/**
 * Which findings go inline: at or above `comment_on`, on a right-side line inside the file's
 * hunks (GitHub rejects the whole review for one bad anchor), not posted before; findings on
 * one line share a comment; at most `max_comments`, most severe first.
 */
export function planComments(
  findings: readonly Finding[],
  diffs: ReadonlyMap<string, DiffLines>,
  config: ResolvedConfig,
  posted: ReadonlySet<string>,
): { comments: ReviewComment[]; overCap: number } {
  const threshold = SEVERITY_RANK[config.commentOn];
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    if (SEVERITY_RANK[f.severity] < threshold || posted.has(f.fingerprint)) continue;
    if (!diffs.get(f.path)?.commentable.has(f.line)) continue;
    const key = `${f.path}\u0000${f.line}`;
    const g = groups.get(key);
    if (g) g.push(f);
    else groups.set(key, [f]);
  }
  const rank = (g: Finding[]) => Math.max(...g.map((f) => SEVERITY_RANK[f.severity]));
  const ordered = [...groups.values()].sort(
    (a, b) => rank(b) - rank(a) || a[0].path.localeCompare(b[0].path) || a[0].line - b[0].line,
  );
  const kept = ordered.slice(0, Math.max(0, config.maxComments));
  const overCap = ordered.slice(kept.length).reduce((n, g) => n + g.length, 0);
  const comments = kept.map((group) => {
    const lines = diffs.get(group[0].path)!.commentable;
    const fixed = group.find((f) => f.fix);
    const r = fixed?.fix?.replacement;
    // A suggestion replaces exactly the lines the comment covers, so those must be the fix's.
    let suggest: Finding | undefined;
    let startLine: number | undefined;
    let line = group[0].line;
    if (r && r.startLine <= line && line <= r.endLine && every(r.startLine, r.endLine, (n) => lines.has(n))) {
      suggest = fixed;
      startLine = r.startLine < r.endLine ? r.startLine : undefined;
      line = r.endLine;
    }
    return { path: group[0].path, line, startLine, body: commentBody(group, suggest) };
  });
  return { comments, overCap };
}

function every(from: number, to: number, test: (n: number) => boolean): boolean {
  for (let n = from; n <= to; n++) if (!test(n)) return false;
  return true;
}
