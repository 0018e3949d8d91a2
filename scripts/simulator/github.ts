// biome-ignore-all lint/suspicious/noExplicitAny: request bodies are free-form JSON, checked field by field
// A local stand-in for the GitHub API, on 127.0.0.1 only. It answers the REST and GraphQL calls
// mlreview makes and refuses what GitHub refuses: review comments off the diff, a review for a
// commit that is not in the pull request, more than 50 annotations in one request, bodies over
// 65,536 characters. Tests and the demo drive it (open a pull request, push) and read what the
// app posted from its state.
import { createHash, createHmac, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { unifiedPatch } from "./diff.js";

export type Files = Record<string, string | Uint8Array>;

export interface SimCheckRun {
  id: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  output: { title?: string; summary?: string };
  annotations: Record<string, unknown>[];
}

export interface SimComment {
  id: number;
  pull: number;
  review: number;
  thread: string;
  path: string;
  line: number;
  start_line?: number;
  body: string;
  user: string;
  commit_id: string;
}

export interface SimReview {
  id: number;
  pull: number;
  commit_id: string;
  body: string;
  event: string;
  comments: SimComment[];
}

export interface SimThread {
  id: string;
  pull: number;
  path: string;
  resolved: boolean;
  comments: number[];
}

interface Commit {
  sha: string;
  files: Map<string, Uint8Array>;
}

interface Pull {
  number: number;
  title: string;
  state: "open" | "closed";
  draft: boolean;
  base: string;
  commits: string[];
  updatedAt: string;
}

export interface Received {
  method: string;
  path: string;
  status: number;
}

const MAX_BODY = 65_536;
const MAX_REQUEST_BYTES = 20_000_000;
const BOT = "mlreview[bot]";

const encoder = new TextEncoder();
const toBytes = (v: string | Uint8Array) => (typeof v === "string" ? encoder.encode(v) : v);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface SimulatorOptions {
  owner?: string;
  repo?: string;
  installationId?: number;
}

export class GitHubSimulator {
  readonly owner: string;
  readonly repo: string;
  readonly installationId: number;
  readonly received: Received[] = [];
  readonly checkRuns: SimCheckRun[] = [];
  readonly reviews: SimReview[] = [];
  readonly comments: SimComment[] = [];
  readonly threads: SimThread[] = [];
  /** Answers to force on the next matching requests: `"GET /pulls/1/files"` → status. */
  readonly faults: { match: RegExp; status: number; times: number; headers?: Record<string, string> }[] = [];
  /** Slow answers for the next matching requests (to hold a review in flight). */
  readonly delays: { match: RegExp; ms: number; times: number }[] = [];
  private readonly commits = new Map<string, Commit>();
  private readonly blobs = new Map<string, Uint8Array>();
  private readonly pulls = new Map<number, Pull>();
  private readonly branches = new Map<string, string>();
  private readonly tokens = new Set<string>();
  private server?: Server;
  private ids = 100;
  private clock = Date.parse("2026-01-01T00:00:00Z");

  constructor(options: SimulatorOptions = {}) {
    this.owner = options.owner ?? "octo-org";
    this.repo = options.repo ?? "models";
    this.installationId = options.installationId ?? 1;
  }

  /** Listens on 127.0.0.1 (a free port unless one is given); returns the `host:port` for GHE_HOST. */
  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        res
          .writeHead(500, { "content-type": "application/json" })
          .end(JSON.stringify({ message: String(e) }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, "127.0.0.1", resolve));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  // ---- the world the app sees -------------------------------------------------------------

  /** A commit whose tree is `files` (paths → text or bytes). */
  commit(files: Files): string {
    const map = new Map(Object.entries(files).map(([p, v]) => [p, toBytes(v)] as const));
    const sha = createHash("sha1")
      .update(JSON.stringify([...map].map(([p, b]) => [p, Buffer.from(b).toString("base64")])))
      .update(String(this.ids++))
      .digest("hex");
    this.commits.set(sha, { sha, files: map });
    return sha;
  }

  setBranch(name: string, files: Files): string {
    const sha = this.commit(files);
    this.branches.set(name, sha);
    return sha;
  }

  openPull(head: Files, options: { title?: string; draft?: boolean } = {}): { number: number; sha: string } {
    if (!this.branches.has("main")) this.setBranch("main", {});
    const number = this.pulls.size + 1;
    const sha = this.commit(head);
    this.pulls.set(number, {
      number,
      title: options.title ?? "Change the training script",
      state: "open",
      draft: options.draft ?? false,
      base: "main",
      commits: [sha],
      updatedAt: this.tick(),
    });
    return { number, sha };
  }

  push(number: number, head: Files): string {
    const pull = this.pull(number);
    const sha = this.commit(head);
    pull.commits.push(sha);
    pull.updatedAt = this.tick();
    return sha;
  }

  head(number: number): string {
    const c = this.pull(number).commits;
    return c[c.length - 1];
  }

  /** A person answers in the thread of one of the app's comments. */
  reply(commentId: number, user: string, body: string): void {
    const c = this.comments.find((x) => x.id === commentId);
    if (!c) throw new Error(`no comment ${commentId}`);
    const id = this.ids++;
    const reply: SimComment = { ...c, id, body, user, review: 0 };
    this.comments.push(reply);
    this.threads.find((t) => t.id === c.thread)?.comments.push(id);
  }

  /** The `pull_request` webhook payload GitHub would send now. */
  pullRequestEvent(action: string, number: number): Record<string, unknown> {
    return {
      action,
      number,
      pull_request: this.pullJson(this.pull(number)),
      repository: this.repoJson(),
      installation: { id: this.installationId, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" },
      sender: { login: "octocat", id: 1, type: "User" },
    };
  }

  checkRunEvent(runId: number): Record<string, unknown> {
    const run = this.checkRuns.find((r) => r.id === runId);
    if (!run) throw new Error(`no check run ${runId}`);
    const pulls = [...this.pulls.values()].filter((p) => p.commits.includes(run.head_sha));
    return {
      action: "rerequested",
      check_run: {
        id: run.id,
        name: run.name,
        head_sha: run.head_sha,
        status: run.status,
        conclusion: run.conclusion,
        app: { id: 1, slug: "mlreview" },
        pull_requests: pulls.map((p) => ({ number: p.number, id: p.number })),
      },
      repository: this.repoJson(),
      installation: { id: this.installationId },
      sender: { login: "octocat", id: 1, type: "User" },
    };
  }

  /** Sends a signed delivery to the app, as GitHub does; returns the app's HTTP status. */
  async deliver(
    appUrl: string,
    event: string,
    payload: unknown,
    secret: string,
    options: { id?: string; signature?: string | null } = {},
  ): Promise<number> {
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "x-github-event": event,
      "x-github-delivery": options.id ?? randomUUID(),
      "user-agent": "GitHub-Hookshot/sim",
    };
    const signature =
      options.signature === undefined
        ? `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`
        : options.signature;
    if (signature !== null) headers["x-hub-signature-256"] = signature;
    const res = await fetch(appUrl, { method: "POST", headers, body });
    await res.arrayBuffer();
    return res.status;
  }

  /** The check run mlreview last created for `sha`. */
  checkRun(sha: string): SimCheckRun | undefined {
    return this.checkRuns.filter((r) => r.head_sha === sha).pop();
  }

  /** Resolves once `sha`'s check runs are all completed (and at least `count` exist). */
  async settled(sha: string, count = 1, timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const runs = this.checkRuns.filter((r) => r.head_sha === sha);
      if (runs.length >= count && runs.every((r) => r.status === "completed")) return;
      if (Date.now() > until) throw new Error(`check run for ${sha.slice(0, 7)} did not complete in time`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  // ---- HTTP --------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = req.method ?? "GET";
    let status = 200;
    let body: unknown;
    let headers: Record<string, string> = {};
    try {
      const raw = await readBody(req);
      const delay = this.delays.find((d) => d.times > 0 && d.match.test(`${method} ${url.pathname}`));
      if (delay) {
        delay.times--;
        await new Promise((r) => setTimeout(r, delay.ms));
      }
      const fault = this.faults.find((f) => f.times > 0 && f.match.test(`${method} ${url.pathname}`));
      if (fault) {
        fault.times--;
        headers = fault.headers ?? {};
        throw new HttpError(
          fault.status,
          fault.status === 403 ? "You have exceeded a secondary rate limit." : "Injected failure",
        );
      }
      [status, body] = await this.route(
        method,
        url,
        raw ? JSON.parse(raw) : undefined,
        req.headers.authorization,
      );
    } catch (e) {
      status = e instanceof HttpError ? e.status : 500;
      body = { message: (e as Error).message, documentation_url: "https://docs.github.com/rest" };
    }
    this.received.push({ method, path: url.pathname + url.search, status });
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
    res.end(status === 204 ? undefined : JSON.stringify(body));
  }

  private async route(
    method: string,
    url: URL,
    body: any,
    auth: string | undefined,
  ): Promise<[number, unknown]> {
    const path = url.pathname.replace(/^\/api\/v3/, "");
    const q = url.searchParams;
    const tokenRoute = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path);
    if (method === "POST" && tokenRoute) {
      if (Number(tokenRoute[1]) !== this.installationId) throw new HttpError(404, "Not Found");
      const token = `ghs_sim${randomUUID().replace(/-/g, "")}`;
      this.tokens.add(token);
      return [201, { token, expires_at: new Date(Date.now() + 3_600_000).toISOString(), permissions: {} }];
    }
    if (method === "GET" && path === "/app") {
      if (!/^bearer /i.test(auth ?? "")) throw new HttpError(401, "Bad credentials");
      return [200, { id: 1, slug: "mlreview", name: "mlreview" }];
    }
    const token = auth?.replace(/^(token|bearer) /i, "");
    if (!token || !this.tokens.has(token)) throw new HttpError(401, "Bad credentials");
    if (method === "POST" && url.pathname === "/api/graphql") return [200, this.graphql(body)];

    const prefix = `/repos/${this.owner}/${this.repo}`;
    if (!path.startsWith(prefix)) throw new HttpError(404, "Not Found");
    const rest = path.slice(prefix.length);
    const page = Number(q.get("page") ?? 1);
    const perPage = Math.min(100, Number(q.get("per_page") ?? 30));
    const paged = <T>(items: T[]) => items.slice((page - 1) * perPage, page * perPage);
    const routes: [string, RegExp, (m: RegExpExecArray) => [number, unknown]][] = [
      [
        "GET",
        /^\/pulls$/,
        () => {
          const state = q.get("state") ?? "open";
          const pulls = [...this.pulls.values()].filter((p) => state === "all" || p.state === state);
          return [200, paged(pulls.map((p) => this.pullJson(p)))];
        },
      ],
      ["GET", /^\/pulls\/(\d+)$/, (m) => [200, this.pullJson(this.pull(Number(m[1])))]],
      ["GET", /^\/pulls\/(\d+)\/files$/, (m) => [200, paged(this.changedFiles(this.pull(Number(m[1]))))]],
      [
        "GET",
        /^\/pulls\/(\d+)\/comments$/,
        (m) => [
          200,
          paged(this.comments.filter((c) => c.pull === Number(m[1])).map((c) => this.commentJson(c))),
        ],
      ],
      ["POST", /^\/pulls\/(\d+)\/reviews$/, (m) => [200, this.createReview(Number(m[1]), body)]],
      [
        "GET",
        /^\/contents\/(.+)$/,
        (m) => [200, this.content(decodeURIComponent(m[1]), q.get("ref") ?? "main")],
      ],
      [
        "GET",
        /^\/git\/blobs\/([0-9a-f]{40})$/,
        (m) => {
          const blob = this.blobs.get(m[1]);
          if (!blob) throw new HttpError(404, "Not Found");
          const content = Buffer.from(blob).toString("base64");
          return [200, { sha: m[1], size: blob.byteLength, encoding: "base64", content }];
        },
      ],
      ["POST", /^\/check-runs$/, () => [201, this.createCheckRun(body)]],
      ["PATCH", /^\/check-runs\/(\d+)$/, (m) => [200, this.updateCheckRun(Number(m[1]), body)]],
    ];
    for (const [verb, pattern, answer] of routes) {
      const m = verb === method ? pattern.exec(rest) : null;
      if (m) return answer(m);
    }
    throw new HttpError(404, "Not Found");
  }

  private content(path: string, ref: string) {
    const file = this.commits.get(this.branches.get(ref) ?? ref)?.files.get(path);
    if (!file) throw new HttpError(404, "Not Found");
    return {
      type: "file",
      path,
      size: file.byteLength,
      encoding: "base64",
      content: Buffer.from(file).toString("base64"),
    };
  }

  private graphql(body: { query: string; variables: Record<string, any> }): unknown {
    const { query, variables } = body;
    if (query.includes("resolveReviewThread")) {
      const t = this.threads.find((x) => x.id === variables.id);
      if (!t)
        return {
          errors: [{ message: `Could not resolve to a node with the global id of '${variables.id}'` }],
        };
      t.resolved = true;
      return { data: { resolveReviewThread: { thread: { id: t.id, isResolved: true } } } };
    }
    if (query.includes("reviewThreads")) {
      const threads = this.threads.filter((t) => t.pull === variables.number);
      const start = variables.cursor ? Number(variables.cursor) : 0;
      const slice = threads.slice(start, start + 100);
      return {
        data: {
          repository: {
            pullRequest: {
              reviewThreads: {
                pageInfo: { hasNextPage: start + 100 < threads.length, endCursor: String(start + 100) },
                nodes: slice.map((t) => {
                  const cs = t.comments.map((id) => this.comments.find((c) => c.id === id)!);
                  return {
                    id: t.id,
                    isResolved: t.resolved,
                    path: t.path,
                    comments: {
                      totalCount: cs.length,
                      nodes: cs
                        .slice(0, 20)
                        .map((c) => ({ author: { login: c.user.replace(/\[bot\]$/, "") }, body: c.body })),
                    },
                  };
                }),
              },
            },
          },
        },
      };
    }
    if (query.includes("object(expression")) {
      const repository: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(variables)) {
        if (!/^e\d+$/.test(k)) continue;
        const expr = String(v);
        const sep = expr.indexOf(":");
        const bytes = this.commits.get(expr.slice(0, sep))?.files.get(expr.slice(sep + 1));
        if (!bytes) {
          repository[`f${k.slice(1)}`] = null;
          continue;
        }
        const oid = createHash("sha1").update(`blob ${bytes.byteLength}\0`).update(bytes).digest("hex");
        this.blobs.set(oid, bytes);
        const binary = bytes.includes(0);
        repository[`f${k.slice(1)}`] = {
          oid,
          byteSize: bytes.byteLength,
          isBinary: binary,
          isTruncated: false,
          text: binary ? null : new TextDecoder().decode(bytes),
        };
      }
      return { data: { repository } };
    }
    return { errors: [{ message: "the simulator does not answer this query" }] };
  }

  private createCheckRun(body: any): SimCheckRun {
    this.checkOutput(body);
    if (!this.commits.has(body.head_sha)) throw new HttpError(422, "No commit found for SHA");
    const run: SimCheckRun = {
      id: this.ids++,
      name: body.name,
      head_sha: body.head_sha,
      status: body.status ?? "queued",
      conclusion: body.conclusion ?? null,
      output: { title: body.output?.title, summary: body.output?.summary },
      annotations: [...(body.output?.annotations ?? [])],
    };
    if (run.conclusion) run.status = "completed";
    this.checkRuns.push(run);
    return run;
  }

  private updateCheckRun(id: number, body: any): SimCheckRun {
    const run = this.checkRuns.find((r) => r.id === id);
    if (!run) throw new HttpError(404, "Not Found");
    this.checkOutput(body);
    if (body.output) {
      run.output = { title: body.output.title, summary: body.output.summary };
      run.annotations.push(...(body.output.annotations ?? []));
    }
    if (body.status) run.status = body.status;
    if (body.conclusion) {
      run.conclusion = body.conclusion;
      run.status = "completed";
    }
    return run;
  }

  private checkOutput(body: any): void {
    const out = body?.output;
    if (!out) return;
    if (!out.title || !out.summary) throw new HttpError(422, "output.title and output.summary are required");
    if (out.summary.length > 65_535 || (out.text?.length ?? 0) > 65_535) {
      throw new HttpError(422, "output.summary is too long (maximum is 65535 characters)");
    }
    if ((out.annotations?.length ?? 0) > 50) throw new HttpError(422, "at most 50 annotations per request");
  }

  private createReview(number: number, body: any): unknown {
    const pull = this.pull(number);
    if (!pull.commits.includes(body.commit_id))
      throw new HttpError(422, "Unprocessable Entity: commit_id is not part of the pull request");
    if ((body.body?.length ?? 0) > MAX_BODY)
      throw new HttpError(422, "body is too long (maximum is 65536 characters)");
    const files = new Map(this.changedFiles(pull, body.commit_id).map((f) => [f.filename, f]));
    for (const c of body.comments ?? []) {
      if ((c.body?.length ?? 0) > MAX_BODY)
        throw new HttpError(422, "comment body is too long (maximum is 65536 characters)");
      const f = files.get(c.path);
      const commentable = commentableLines(f?.patch);
      const side = c.side ?? "RIGHT";
      const lines = [c.line, ...(c.start_line !== undefined ? [c.start_line] : [])];
      if (!f || side !== "RIGHT" || lines.some((l: number) => !commentable.has(l))) {
        throw new HttpError(
          422,
          "Unprocessable Entity: pull_request_review_thread.line must be part of the diff",
        );
      }
    }
    const review: SimReview = {
      id: this.ids++,
      pull: number,
      commit_id: body.commit_id,
      body: body.body ?? "",
      event: body.event,
      comments: [],
    };
    for (const c of body.comments ?? []) {
      const comment: SimComment = {
        id: this.ids++,
        pull: number,
        review: review.id,
        thread: `PRRT_${this.ids++}`,
        path: c.path,
        line: c.line,
        start_line: c.start_line,
        body: c.body,
        user: BOT,
        commit_id: body.commit_id,
      };
      this.comments.push(comment);
      this.threads.push({
        id: comment.thread,
        pull: number,
        path: c.path,
        resolved: false,
        comments: [comment.id],
      });
      review.comments.push(comment);
    }
    this.reviews.push(review);
    return { id: review.id, commit_id: review.commit_id, state: "COMMENTED" };
  }

  // ---- shapes ------------------------------------------------------------------------------

  private pull(number: number): Pull {
    const p = this.pulls.get(number);
    if (!p) throw new HttpError(404, "Not Found");
    return p;
  }

  private changedFiles(pull: Pull, at?: string) {
    const base = this.commits.get(this.branches.get(pull.base)!)!.files;
    const head = this.commits.get(at ?? pull.commits[pull.commits.length - 1])!.files;
    const out: {
      filename: string;
      status: string;
      patch?: string;
      additions: number;
      deletions: number;
      changes: number;
    }[] = [];
    const paths = [...new Set([...base.keys(), ...head.keys()])].sort();
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    for (const p of paths) {
      const a = base.get(p);
      const b = head.get(p);
      if (a && b && Buffer.from(a).equals(Buffer.from(b))) continue;
      const binary = (a?.includes(0) ?? false) || (b?.includes(0) ?? false);
      const d = binary
        ? { patch: undefined, additions: 0, deletions: 0 }
        : unifiedPatch(a ? text(a) : "", b ? text(b) : "");
      out.push({
        filename: p,
        status: !a ? "added" : !b ? "removed" : "modified",
        ...(d.patch ? { patch: d.patch } : {}),
        additions: d.additions,
        deletions: d.deletions,
        changes: d.additions + d.deletions,
      });
    }
    return out;
  }

  private pullJson(p: Pull) {
    const head = p.commits[p.commits.length - 1];
    return {
      number: p.number,
      title: p.title,
      state: p.state,
      draft: p.draft,
      head: { sha: head, ref: `feature-${p.number}`, repo: this.repoJson() },
      base: { sha: this.branches.get(p.base), ref: p.base, repo: this.repoJson() },
      changed_files: this.changedFiles(p).length,
      updated_at: p.updatedAt,
      user: { login: "octocat" },
    };
  }

  private repoJson() {
    return {
      id: 1,
      name: this.repo,
      full_name: `${this.owner}/${this.repo}`,
      owner: { login: this.owner, id: 2, type: "Organization" },
      private: false,
      default_branch: "main",
    };
  }

  private commentJson(c: SimComment) {
    return {
      id: c.id,
      pull_request_review_id: c.review,
      path: c.path,
      line: c.line,
      side: "RIGHT",
      body: c.body,
      user: { login: c.user, type: c.user.endsWith("[bot]") ? "Bot" : "User" },
      commit_id: c.commit_id,
      original_commit_id: c.commit_id,
    };
  }

  private tick(): string {
    this.clock += 60_000;
    return new Date(this.clock).toISOString();
  }
}

function commentableLines(patch: string | undefined): Set<number> {
  const out = new Set<number>();
  if (!patch) return out;
  let line = 0;
  for (const l of patch.split("\n")) {
    const h = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(l);
    if (h) line = Number(h[1]);
    else if (l.startsWith("+") || l.startsWith(" ")) out.add(line++);
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) throw new HttpError(413, "request too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
