// biome-ignore-all lint/suspicious/noExplicitAny: webhook payloads and captured request bodies are free-form JSON
// Drives the app as GitHub would: real webhook payloads (from @octokit/webhooks-examples) into a
// Probot instance, with every GitHub call answered by nock.
import { generateKeyPairSync } from "node:crypto";
import { Writable } from "node:stream";
import examples from "@octokit/webhooks-examples";
import nock from "nock";
import { Probot } from "probot";
import { afterEach, beforeAll, beforeEach, expect } from "vitest";
import { createApp } from "../../src/app/app.js";
import { createLogger } from "../../src/app/logger.js";
import { MlreviewOctokit } from "../../src/app/octokit.js";
import { Engine } from "../../src/engine/engine.js";

export const API = "https://api.github.com";
export const OWNER = "Codertocat";
export const REPO = "Hello-World";
export const REPO_PATH = `/repos/${OWNER}/${REPO}`;
export const INSTALLATION = 4242;
export const TOKEN = "ghs_installationTokenForTests0123456789";
export const BOT = "mlreview[bot]";
export const HEAD = "a".repeat(40);
export const RULE = "pyyaml/unsafe-load";
export const SECRET = "test-webhook-secret-0123456789";

export const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});

let engine: Promise<Engine> | undefined;
export const sharedEngine = () => {
  engine ??= Engine.create();
  return engine;
};

/**
 * Test-file lifecycle: the engine loaded once, no real network, every nock answer used, and no
 * request the mocks did not expect (the app may swallow that error, so it is collected here).
 */
export function useMockedGitHub(): void {
  let unmatched: string[] = [];
  const onNoMatch = (req: {
    method?: string;
    path?: string;
    options?: { method?: string; path?: string };
  }) => {
    unmatched.push(`${req.method ?? req.options?.method} ${req.path ?? req.options?.path}`);
  };
  beforeAll(async () => {
    await sharedEngine();
  });
  beforeEach(() => {
    unmatched = [];
    nock.disableNetConnect();
    nock.emitter.on("no match", onNoMatch);
  });
  afterEach(() => {
    nock.emitter.removeListener("no match", onNoMatch);
    const pending = nock.pendingMocks();
    nock.cleanAll();
    nock.enableNetConnect();
    expect(pending).toEqual([]);
    expect(unmatched).toEqual([]);
  });
}

export interface Harness {
  probot: Probot;
  idle: () => Promise<void>;
  logs: string[];
  sleeps: number[];
}

export function harness(select: string[] = [RULE]): Harness {
  const logs: string[] = [];
  const sleeps: number[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const log = createLogger({ LOG_LEVEL: "trace", WEBHOOK_SECRET: SECRET, PRIVATE_KEY: privateKey }, stream);
  const probot = new Probot({
    appId: 1,
    privateKey,
    secret: SECRET,
    Octokit: MlreviewOctokit,
    log,
  });
  const { app, idle } = createApp({
    engine: sharedEngine,
    select,
    retry: {
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    },
  });
  probot.load(app);
  return { probot, idle, logs, sleeps };
}

type Example = { name: string; examples: Record<string, unknown>[] };

function example(event: string, action: string): Record<string, any> {
  const e = (examples as unknown as Example[]).find((x) => x.name === event);
  const found = e?.examples.find((x) => x.action === action);
  if (!found) throw new Error(`no example for ${event}.${action}`);
  return structuredClone(found) as Record<string, any>;
}

export function prPayload(
  action: string,
  over: { sha?: string; number?: number; draft?: boolean; state?: string; updatedAt?: string } = {},
) {
  const p = example(
    "pull_request",
    action === "synchronize" || action === "reopened" || action === "ready_for_review" ? action : "opened",
  );
  p.action = action;
  p.installation = { id: INSTALLATION, node_id: "x" };
  p.number = over.number ?? 2;
  p.pull_request.number = p.number;
  p.pull_request.head.sha = over.sha ?? HEAD;
  p.pull_request.draft = over.draft ?? false;
  p.pull_request.state = over.state ?? "open";
  p.pull_request.updated_at = over.updatedAt ?? "2026-01-01T00:00:00Z";
  p.repository.default_branch = "main";
  return p;
}

export function checkRunPayload(sha = HEAD, prNumbers: number[] = []) {
  const p = example("check_run", "rerequested");
  p.installation = { id: INSTALLATION, node_id: "x" };
  p.repository = {
    ...p.repository,
    name: REPO,
    full_name: `${OWNER}/${REPO}`,
    owner: { ...p.repository.owner, login: OWNER },
  };
  p.check_run.name = "mlreview";
  p.check_run.head_sha = sha;
  p.check_run.pull_requests = prNumbers.map((n) => ({ number: n, id: n, url: "", head: {}, base: {} }));
  p.repository.default_branch = "main";
  return p;
}

export function checkSuitePayload(sha = HEAD, prNumbers: number[] = []) {
  const p = example("check_suite", "rerequested");
  p.installation = { id: INSTALLATION, node_id: "x" };
  p.check_suite.head_sha = sha;
  p.check_suite.pull_requests = prNumbers.map((n) => ({ number: n, id: n, url: "", head: {}, base: {} }));
  p.repository.default_branch = "main";
  return p;
}

let deliveries = 0;
export async function deliver(h: Harness, name: string, payload: unknown, id = `delivery-${++deliveries}`) {
  await h.probot.receive({ id, name, payload } as Parameters<Probot["receive"]>[0]);
}

/** Python with `n` flagged `yaml.load` lines, and the patch that adds all of it. */
export function flaggedFile(n: number, extra = ""): { text: string; patch: string } {
  const lines = [
    "import yaml",
    "",
    ...Array.from({ length: n }, (_, i) => `c${i} = yaml.load(open("f${i}.yml"))`),
  ];
  if (extra) lines.push(extra);
  const text = `${lines.join("\n")}\n`;
  return { text, patch: addedPatch(lines) };
}

export function addedPatch(lines: string[]): string {
  return [`@@ -0,0 +1,${lines.length} @@`, ...lines.map((l) => `+${l}`)].join("\n");
}

export interface FileSpec {
  path: string;
  text?: string;
  patch?: string;
  status?: string;
  previous?: string;
  /** GraphQL answer for this path instead of a text blob. */
  blob?: Record<string, unknown> | null;
  changes?: number;
  /** GraphQL fails this path's alias (the others still answer). */
  error?: boolean;
}

export interface Scenario {
  files: FileSpec[];
  /** Files in the repository at the head that the pull request does not change. */
  repoFiles?: Record<string, string>;
  sha?: string;
  number?: number;
  /** Head the pull request has when it is read back before posting. */
  liveHead?: string;
  changedFiles?: number;
  config?: string;
  comments?: { body: string; user?: string; commit?: string }[];
  threads?: { id: string; path: string; body: string; replies?: string[] }[];
  /** Expect a review; the assertion gets its body. */
  review?: boolean | number;
  /** Expect this many check-run updates. */
  updates?: number;
  resolves?: number;
}

export interface Captured {
  checkCreates: any[];
  checkUpdates: any[];
  reviews: any[];
  resolved: string[];
  graphql: any[];
}

/** nock answers for a whole review; what the app sent is collected in the returned object. */
export function mockReview(s: Scenario): Captured {
  const sha = s.sha ?? HEAD;
  const number = s.number ?? 2;
  const got: Captured = { checkCreates: [], checkUpdates: [], reviews: [], resolved: [], graphql: [] };
  const api = nock(API);
  api
    .post(`/app/installations/${INSTALLATION}/access_tokens`)
    .optionally()
    .reply(201, { token: TOKEN, expires_at: "2099-01-01T00:00:00Z" })
    .persist();
  api.get("/app").optionally().reply(200, { slug: "mlreview", id: 1 });
  api.post(`${REPO_PATH}/check-runs`).reply(201, (_u, body) => {
    got.checkCreates.push(body);
    return { id: 77 };
  });
  if (s.config === undefined)
    api
      .get(`${REPO_PATH}/contents/.mlreview.yml`)
      .query({ ref: "main" })
      .reply(404, { message: "Not Found" });
  else
    api
      .get(`${REPO_PATH}/contents/.mlreview.yml`)
      .query({ ref: "main" })
      .reply(200, {
        type: "file",
        size: s.config.length,
        encoding: "base64",
        content: Buffer.from(s.config).toString("base64"),
      });
  const pages = Math.max(1, Math.ceil((s.files.length + (s.files.length % 100 === 0 ? 1 : 0)) / 100));
  for (let page = 1; page <= Math.min(pages, 30); page++) {
    const slice = s.files.slice((page - 1) * 100, page * 100);
    api
      .get(`${REPO_PATH}/pulls/${number}/files`)
      .query({ per_page: 100, page })
      .reply(
        200,
        slice.map((f) => ({
          filename: f.path,
          previous_filename: f.previous,
          status: f.status ?? "added",
          patch: f.patch,
          changes: f.changes ?? (f.patch ? 1 : 0),
        })),
      );
  }
  const byPath = new Map<string, FileSpec>(s.files.map((f) => [f.path, f]));
  for (const [path, text] of Object.entries(s.repoFiles ?? {})) byPath.set(path, { path, text });
  api
    .post("/graphql", (b) => typeof b.query === "string" && b.query.includes("object(expression"))
    .times(100)
    .optionally()
    .reply(200, (_u, body: any) => {
      got.graphql.push(body);
      const repository: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(body.variables as Record<string, string>)) {
        if (!/^e\d+$/.test(k)) continue;
        const path = v.slice(v.indexOf(":") + 1);
        const f = byPath.get(path);
        repository[`f${k.slice(1)}`] =
          f?.blob !== undefined
            ? f.blob
            : f?.text !== undefined
              ? {
                  oid: `oid-${path}`,
                  byteSize: Buffer.byteLength(f.text),
                  isBinary: false,
                  isTruncated: false,
                  text: f.text,
                }
              : null;
      }
      const errors = s.files
        .filter((f) => f.error)
        .map((f) => ({ type: "NOT_FOUND", path: ["repository"], message: `Could not resolve ${f.path}` }));
      return errors.length ? { data: { repository }, errors } : { data: { repository } };
    });
  return Object.assign(got, { api, sha, number });
}

/** The calls after the engine ran: PR read-back, earlier comments, review, threads, check run. */
export function mockPosting(s: Scenario, got: Captured): void {
  const sha = s.sha ?? HEAD;
  const number = s.number ?? 2;
  const api = nock(API);
  api.get(`${REPO_PATH}/pulls/${number}`).reply(200, {
    number,
    state: "open",
    draft: false,
    head: { sha: s.liveHead ?? sha },
    base: { ref: "main" },
    changed_files: s.changedFiles ?? s.files.length,
    updated_at: "2026-01-01T00:00:00Z",
  });
  if ((s.liveHead ?? sha) !== sha) return;
  api
    .get(`${REPO_PATH}/pulls/${number}/comments`)
    .query({ per_page: 100, page: 1 })
    .reply(
      200,
      (s.comments ?? []).map((c, i) => ({
        id: i + 1,
        body: c.body,
        user: { login: c.user ?? BOT },
        original_commit_id: c.commit ?? "0".repeat(40),
      })),
    );
  const reviews = s.review === true ? 1 : s.review === false || s.review === undefined ? 0 : s.review;
  if (reviews > 0) {
    api
      .post(`${REPO_PATH}/pulls/${number}/reviews`)
      .times(reviews)
      .reply(200, (_u, body) => {
        got.reviews.push(body);
        return { id: 9 };
      });
  }
  api
    .post("/graphql", (b) => typeof b.query === "string" && b.query.includes("reviewThreads"))
    .reply(200, {
      data: {
        repository: {
          pullRequest: {
            reviewThreads: {
              pageInfo: { hasNextPage: false, endCursor: null },
              nodes: (s.threads ?? []).map((t) => ({
                id: t.id,
                isResolved: false,
                path: t.path,
                comments: {
                  totalCount: 1 + (t.replies?.length ?? 0),
                  nodes: [
                    { author: { login: "mlreview" }, body: t.body },
                    ...(t.replies ?? []).map((r) => ({ author: { login: r }, body: "reply" })),
                  ],
                },
              })),
            },
          },
        },
      },
    });
  if (s.resolves) {
    api
      .post("/graphql", (b) => typeof b.query === "string" && b.query.includes("resolveReviewThread"))
      .times(s.resolves)
      .reply(200, (_u, body: any) => {
        got.resolved.push(body.variables.id);
        return { data: { resolveReviewThread: { thread: { id: body.variables.id, isResolved: true } } } };
      });
  }
  mockUpdates(got, s.updates ?? 1);
}

export function mockUpdates(got: Captured, n: number): void {
  nock(API)
    .patch(`${REPO_PATH}/check-runs/77`)
    .times(n)
    .reply(200, (_u, body) => {
      got.checkUpdates.push(body);
      return { id: 77 };
    });
}

export function finalUpdate(got: Captured): any {
  return got.checkUpdates[got.checkUpdates.length - 1];
}
