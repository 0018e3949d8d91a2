// biome-ignore-all lint/suspicious/noExplicitAny: captured request bodies are free-form JSON
import nock from "nock";
import { describe, expect, it } from "vitest";
import {
  API,
  addedPatch,
  type Captured,
  deliver,
  finalUpdate,
  flaggedFile,
  HEAD,
  harness,
  INSTALLATION,
  mockPosting,
  mockReview,
  mockUpdates,
  privateKey,
  prPayload,
  REPO_PATH,
  RULE,
  type Scenario,
  SECRET,
  TOKEN,
  useMockedGitHub,
} from "./harness.js";

useMockedGitHub();

async function run(
  s: Scenario,
  payload = prPayload("opened"),
): Promise<Captured & { logs: string[]; sleeps: number[] }> {
  const h = harness();
  const got = mockReview(s);
  mockPosting(s, got);
  await deliver(h, "pull_request", payload);
  await h.idle();
  return Object.assign(got, { logs: h.logs, sleeps: h.sleeps });
}

const flagged = (n: number, path = "train.py") => {
  const f = flaggedFile(n);
  return { path, text: f.text, patch: f.patch };
};

describe("deliveries", () => {
  it("reviews a delivery GitHub sends twice only once", async () => {
    const h = harness();
    const s = { files: [flagged(1)], review: true };
    const got = mockReview(s);
    mockPosting(s, got);
    const payload = prPayload("opened");
    await deliver(h, "pull_request", payload, "same-delivery");
    await deliver(h, "pull_request", payload, "same-delivery");
    await h.idle();
    expect(got.checkCreates).toHaveLength(1);
    expect(got.reviews).toHaveLength(1);
  });

  it("posts nothing for closed or draft pull requests", async () => {
    const h = harness();
    await deliver(h, "pull_request", prPayload("reopened", { state: "closed" }));
    await deliver(h, "pull_request", prPayload("opened", { draft: true }));
    await deliver(h, "pull_request", prPayload("synchronize", { draft: true }));
    await h.idle();
  });

  it("reviews a draft once it is ready for review", async () => {
    const s = { files: [flagged(1)], review: true };
    const got = await run(s, prPayload("ready_for_review"));
    expect(got.reviews).toHaveLength(1);
  });
});

describe("the head moving", () => {
  it("posts nothing for a head that moved during the review", async () => {
    const newer = "b".repeat(40);
    const s = { files: [flagged(1)], liveHead: newer };
    const h = harness();
    const got = mockReview(s);
    mockPosting(s, got);
    mockUpdates(got, 1);
    await deliver(h, "pull_request", prPayload("opened"));
    await h.idle();
    expect(got.reviews).toHaveLength(0);
    expect(finalUpdate(got)).toMatchObject({ status: "completed", conclusion: "neutral" });
    expect(finalUpdate(got).output.summary).toContain(`superseded by ${newer}`);
  });
});

describe("GitHub failing", () => {
  it("retries 502s on listing files a bounded number of times, then ends neutral with the reason", async () => {
    const h = harness();
    const api = nock(API);
    api
      .post(`/app/installations/${INSTALLATION}/access_tokens`)
      .reply(201, { token: TOKEN, expires_at: "2099-01-01T00:00:00Z" });
    const got: any[] = [];
    api.post(`${REPO_PATH}/check-runs`).reply(201, { id: 77 });
    api.get(`${REPO_PATH}/contents/.mlreview.yml`).query(true).reply(404, {});
    api.get(`${REPO_PATH}/pulls/2/files`).query(true).times(3).reply(502, "Bad Gateway");
    api.patch(`${REPO_PATH}/check-runs/77`).reply(200, (_u, b) => {
      got.push(b);
      return {};
    });
    await deliver(h, "pull_request", prPayload("opened"));
    await h.idle();
    expect(h.sleeps).toEqual([1000, 2000]);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ status: "completed", conclusion: "neutral" });
    expect(got[0].output.summary).toContain(
      "listing the changed files failed: GitHub answered 502 after 3 attempts",
    );
  });

  it("waits out a secondary rate limit for as long as retry-after says, once", async () => {
    const s = { files: [flagged(1)], review: true };
    const h = harness();
    nock(API)
      .get(`${REPO_PATH}/pulls/2/files`)
      .query({ per_page: 100, page: 1 })
      .reply(403, { message: "You have exceeded a secondary rate limit." }, { "retry-after": "7" });
    const got = mockReview(s);
    mockPosting(s, got);
    await deliver(h, "pull_request", prPayload("opened"));
    await h.idle();
    expect(h.sleeps).toEqual([7000]);
    expect(got.reviews).toHaveLength(1);
    expect(finalUpdate(got).conclusion).toBe("failure");
  });

  it("gives up instead of waiting for a primary rate limit that resets in an hour", async () => {
    const h = harness();
    const api = nock(API);
    api
      .post(`/app/installations/${INSTALLATION}/access_tokens`)
      .reply(201, { token: TOKEN, expires_at: "2099-01-01T00:00:00Z" });
    api.post(`${REPO_PATH}/check-runs`).reply(201, { id: 77 });
    const reset = Math.floor(Date.now() / 1000) + 3600;
    api
      .get(`${REPO_PATH}/contents/.mlreview.yml`)
      .query(true)
      .reply(
        403,
        { message: "API rate limit exceeded" },
        { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
      );
    const got: any[] = [];
    api.patch(`${REPO_PATH}/check-runs/77`).reply(200, (_u, b) => {
      got.push(b);
      return {};
    });
    await deliver(h, "pull_request", prPayload("opened"));
    await h.idle();
    expect(h.sleeps).toEqual([]);
    expect(got[0]).toMatchObject({ conclusion: "neutral" });
    expect(got[0].output.summary).toMatch(/rate limit blocks reading \.mlreview\.yml for \d+ s/);
  });

  it("stops cleanly when the app is uninstalled mid-review (401)", async () => {
    const h = harness();
    const api = nock(API);
    api
      .post(`/app/installations/${INSTALLATION}/access_tokens`)
      .reply(201, { token: TOKEN, expires_at: "2099-01-01T00:00:00Z" });
    api.post(`${REPO_PATH}/check-runs`).reply(201, { id: 77 });
    api.get(`${REPO_PATH}/contents/.mlreview.yml`).query(true).reply(404, {});
    // @octokit/auth-app retries a 401 for five seconds after creating a token (replication lag).
    api.get(`${REPO_PATH}/pulls/2/files`).query(true).reply(401, { message: "Bad credentials" }).persist();
    // One last attempt to close the check run, answered like the rest: no retry after it.
    api.patch(`${REPO_PATH}/check-runs/77`).reply(401, { message: "Bad credentials" });
    await deliver(h, "pull_request", prPayload("opened"));
    await h.idle();
    expect(h.logs.some((l) => l.includes("review stopped: no access"))).toBe(true);
    expect(h.logs.some((l) => l.includes("could not complete the check run"))).toBe(true);
  }, 30_000);

  it("stops cleanly when the repository disappears mid-review (404)", async () => {
    const h = harness();
    const s = { files: [flagged(1)] };
    const got = mockReview(s);
    nock(API).get(`${REPO_PATH}/pulls/2`).reply(404, { message: "Not Found" });
    const closed: any[] = [];
    nock(API)
      .patch(`${REPO_PATH}/check-runs/77`)
      .reply(200, (_u, body) => {
        closed.push(body);
        return { id: 77 };
      });
    await deliver(h, "pull_request", prPayload("opened"));
    await h.idle();
    expect(got.reviews).toHaveLength(0);
    expect(h.logs.some((l) => l.includes("review stopped: no access"))).toBe(true);
    // The check run is not left in progress where GitHub still lets it be closed.
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ status: "completed", conclusion: "neutral" });
    expect(closed[0].output.title).toBe("Review stopped");
  });

  it("posts once more without inline comments when GitHub answers 422, and never loops", async () => {
    const h = harness();
    const s = { files: [flagged(1)] };
    const got = mockReview(s);
    mockPosting({ ...s, review: false }, got);
    const bodies: any[] = [];
    nock(API)
      .post(`${REPO_PATH}/pulls/2/reviews`)
      .reply(422, (_u, b) => {
        bodies.push(b);
        return { message: "Unprocessable Entity" };
      })
      .post(`${REPO_PATH}/pulls/2/reviews`)
      .reply(200, (_u, b) => {
        bodies.push(b);
        return { id: 1 };
      });
    await deliver(h, "pull_request", prPayload("opened"));
    await h.idle();
    expect(bodies).toHaveLength(2);
    expect(bodies[0].comments).toHaveLength(1);
    expect(bodies[1].comments).toEqual([]);
    expect(finalUpdate(got).output.summary).toContain("GitHub refused the inline comments");
  });
});

describe("files", () => {
  it("gives a file without a patch no inline comment but still annotates it", async () => {
    const f = flaggedFile(1);
    const got = await run({ files: [{ path: "big.py", text: f.text, changes: 5000 }] });
    expect(got.reviews).toHaveLength(0);
    const done = finalUpdate(got);
    expect(done.output.annotations).toHaveLength(1);
    expect(done.output.summary).toContain("GitHub sent no diff for it");
  });

  it("skips a binary .py with a note", async () => {
    const got = await run({
      files: [
        {
          path: "blob.py",
          patch: undefined,
          changes: 1,
          blob: { oid: "1".repeat(40), byteSize: 10, isBinary: true, isTruncated: false, text: null },
        },
      ],
    });
    expect(finalUpdate(got).output.summary).toMatch(/`blob\.py`: binary file/);
    expect(finalUpdate(got).conclusion).toBe("success");
  });

  it("skips a Latin-1 file after reading its bytes", async () => {
    const latin1 = Buffer.from("import yaml\ncaf\xe9 = yaml.load(open('x'))\n", "latin1");
    const oid = "2".repeat(40);
    nock(API)
      .get(`${REPO_PATH}/git/blobs/${oid}`)
      .reply(200, { sha: oid, encoding: "base64", content: latin1.toString("base64"), size: latin1.length });
    const got = await run({
      files: [
        {
          path: "latin.py",
          patch: "@@ -0,0 +1,2 @@\n+import yaml\n+caf\uFFFD = yaml.load(open('x'))",
          blob: {
            oid,
            byteSize: latin1.length,
            isBinary: false,
            isTruncated: false,
            text: latin1.toString("utf8"),
          },
        },
      ],
    });
    expect(finalUpdate(got).output.summary).toMatch(/`latin\.py`: not valid UTF-8/);
    expect(got.reviews).toHaveLength(0);
  });

  it("skips removed files and reviews renamed ones under their new path", async () => {
    const f = flaggedFile(1);
    const got = await run({
      files: [
        { path: "gone.py", status: "removed", patch: "@@ -1 +0,0 @@\n-x = yaml.load(f)", changes: 1 },
        { path: "new/name.py", previous: "old/name.py", status: "renamed", text: f.text, patch: f.patch },
        { path: "moved.py", previous: "was.py", status: "renamed", text: "x = 1\n", changes: 0 },
      ],
      review: true,
    });
    const asked = got.graphql.flatMap((q: any) =>
      Object.values(q.variables).filter((v) => String(v).includes(":")),
    );
    expect(asked).toEqual([`${HEAD}:new/name.py`]);
    expect(got.reviews[0].comments.map((c: any) => c.path)).toEqual(["new/name.py"]);
  });

  it("lists 3,000 of 3,500 changed files and says so", async () => {
    const f = flaggedFile(1);
    const files = Array.from({ length: 3000 }, (_, i) => ({
      path: `data/${i}.csv`,
      patch: "@@ -0,0 +1 @@\n+1",
      changes: 1,
    }));
    files[0] = { path: "train.py", text: f.text, patch: f.patch } as any;
    const got = await run({ files, changedFiles: 3500, review: true });
    expect(finalUpdate(got).output.summary).toContain("3,000 of its 3,500 changed files were reviewed");
  });
});

describe("many findings", () => {
  it("sends 175 annotations in four requests and caps inline comments", async () => {
    const got = await run({ files: [flagged(175)], review: true, updates: 4 });
    expect(got.checkUpdates.map((u: any) => u.output.annotations.length)).toEqual([50, 50, 50, 25]);
    expect(got.checkUpdates.slice(0, 3).every((u: any) => u.status === undefined)).toBe(true);
    expect(finalUpdate(got)).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(got.reviews[0].comments).toHaveLength(25);
  });

  it("keeps 400 findings to max_comments inline and the rest in the check run", async () => {
    const got = await run({ files: [flagged(400)], review: true, updates: 8 });
    expect(got.reviews[0].comments).toHaveLength(25);
    expect(got.reviews[0].body).toContain("375 more are listed in the **mlreview** check run");
    expect(got.checkUpdates.reduce((n: number, u: any) => n + u.output.annotations.length, 0)).toBe(400);
    const summary = finalUpdate(got).output.summary;
    expect(summary.length).toBeLessThanOrEqual(65_535);
    expect(summary).toContain("375 more findings are over `max_comments`");
  });

  it("does not repeat fingerprints already posted and resolves threads whose finding is gone", async () => {
    const first = await run({ files: [flagged(2)], review: true });
    const [c1, c2] = first.reviews[0].comments;
    nock.cleanAll();
    // Next push: line 4 is fixed; the line-3 finding was already posted.
    const lines = [
      "import yaml",
      "",
      'c0 = yaml.load(open("f0.yml"))',
      'c1 = yaml.safe_load(open("f1.yml"))',
    ];
    const got = await run({
      files: [{ path: "train.py", text: `${lines.join("\n")}\n`, patch: addedPatch(lines) }],
      comments: [{ body: c1.body }, { body: c2.body }],
      threads: [
        { id: "T1", path: "train.py", body: c1.body },
        { id: "T2", path: "train.py", body: c2.body },
        { id: "T3", path: "train.py", body: c2.body, replies: ["octocat"] },
      ],
      resolves: 1,
    });
    expect(got.reviews).toHaveLength(0);
    expect(got.resolved).toEqual(["T2"]);
  });
});

describe("configuration", () => {
  it("falls back to the defaults with positioned errors for an invalid .mlreview.yml", async () => {
    const got = await run({
      files: [flagged(1)],
      config: "fail_on: sometimes\nmax_comments: -3\n",
      review: true,
    });
    const summary = finalUpdate(got).output.summary;
    expect(summary).toContain("has 2 errors, so the defaults were used");
    expect(summary).toMatch(/\.mlreview\.yml:1:\d+/);
    expect(finalUpdate(got).conclusion).toBe("failure");
  });

  it("survives an alias bomb in .mlreview.yml", async () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]",
      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
      "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]",
      "f: [*e,*e,*e,*e,*e,*e,*e,*e,*e]",
    ].join("\n");
    const got = await run({ files: [flagged(1)], config: bomb, review: true });
    expect(finalUpdate(got).output.summary).toContain("so the defaults were used");
    expect(finalUpdate(got).conclusion).toBe("failure");
  });

  it("ignores a pull request's own .mlreview.yml that turns rules off, and validates it", async () => {
    const off = `rules:\n  ${RULE}: off\n`;
    const got = await run({
      files: [flagged(1), { path: ".mlreview.yml", text: off, patch: addedPatch(off.trimEnd().split("\n")) }],
      review: true,
    });
    const summary = finalUpdate(got).output.summary;
    expect(summary).toContain("a pull request cannot change its own review");
    expect(summary).toContain("Its new version is valid");
    expect(got.reviews[0].comments).toHaveLength(1);
    expect(finalUpdate(got).conclusion).toBe("failure");
  });

  it("reports the errors of a pull request's broken .mlreview.yml", async () => {
    const bad = "fail_on: [\n";
    const got = await run({
      files: [flagged(1), { path: ".mlreview.yml", text: bad, patch: addedPatch(["fail_on: ["]) }],
      review: true,
    });
    expect(finalUpdate(got).output.summary).toMatch(/Its new version has \d+ errors?/);
  });
});

describe("logs", () => {
  it("writes one structured line per review and no secret in any line", async () => {
    const got = await run({ files: [flagged(1)], review: true });
    const done = got.logs.filter((l) => l.includes('"review finished"')).map((l) => JSON.parse(l));
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({
      repo: "Codertocat/Hello-World",
      pr: 2,
      head: HEAD,
      files: 1,
      findings: 1,
      conclusion: "failure",
    });
    expect(done[0].apiCalls).toBeGreaterThan(5);
    expect(typeof done[0].ms).toBe("number");
    const all = got.logs.join("\n");
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain(privateKey.split("\n")[1]);
  });
});

describe("what is reviewed", () => {
  it("keeps the config's paths, skips oversized files and file kinds it does not read", async () => {
    const got = await run({
      config: "paths:\n  exclude: ['vendor/**']\n",
      files: [
        flagged(1, "vendor/lib.py"),
        { path: "README.md", patch: "@@ -0,0 +1 @@\n+hi", changes: 1 },
        {
          path: "huge.py",
          patch: "@@ -0,0 +1 @@\n+x",
          blob: { oid: "3".repeat(40), byteSize: 2_000_000, isBinary: false, isTruncated: true, text: "x" },
        },
      ],
    });
    const asked = got.graphql.flatMap((q: any) =>
      Object.values(q.variables).filter((v) => String(v).includes(":")),
    );
    expect(asked).toEqual([`${HEAD}:huge.py`]);
    expect(finalUpdate(got).output.summary).toMatch(/`huge\.py`: larger than 1 MB/);
    expect(finalUpdate(got).conclusion).toBe("success");
  });
});

describe("GraphQL partial answers", () => {
  it("reviews the files GitHub resolved and skips the one it could not", async () => {
    const got = await run({
      files: [flagged(1), { path: "odd.py", patch: "@@ -0,0 +1 @@\n+x", error: true }],
      review: true,
    });
    expect(got.reviews).toHaveLength(1);
    expect(finalUpdate(got).output.summary).toMatch(/`odd\.py`: not found at the head commit/);
  });
});
