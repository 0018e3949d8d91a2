import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateKey, ROOT, type RunningApp, SECRET, startApp } from "../../scripts/simulator/app-process.js";
import { GitHubSimulator } from "../../scripts/simulator/github.js";

const FLAGGED = "import yaml\n\n\ndef read(path):\n    with open(path) as f:\n        return yaml.load(f)\n";

let sim: GitHubSimulator;
let app: RunningApp;
const key = privateKey();

beforeAll(async () => {
  sim = new GitHubSimulator();
  const host = await sim.start();
  app = await startApp(host, { PRIVATE_KEY: key });
  sim.setBranch("main", { "app.py": "import yaml\n" });
}, 60_000);

afterAll(async () => {
  await app?.stop();
  await sim?.stop();
});

const settle = () => new Promise((r) => setTimeout(r, 300));

describe("faults against the real server", () => {
  it("answers a bad or missing signature with 400 and calls no API", async () => {
    const { number } = sim.openPull({ "app.py": FLAGGED });
    const before = sim.received.length;
    const event = sim.pullRequestEvent("opened", number);
    expect(await sim.deliver(app.webhooks, "pull_request", event, "not-the-secret")).toBe(400);
    expect(await sim.deliver(app.webhooks, "pull_request", event, SECRET, { signature: null })).toBe(400);
    await settle();
    expect(sim.received.length).toBe(before);
  });

  it("reviews a delivery sent twice once", async () => {
    const { number, sha } = sim.openPull({ "app.py": FLAGGED });
    const event = sim.pullRequestEvent("opened", number);
    expect(await sim.deliver(app.webhooks, "pull_request", event, SECRET, { id: "dup-1" })).toBe(200);
    expect(await sim.deliver(app.webhooks, "pull_request", event, SECRET, { id: "dup-1" })).toBe(200);
    await sim.settled(sha);
    await settle();
    expect(sim.checkRuns.filter((r) => r.head_sha === sha)).toHaveLength(1);
    expect(sim.reviews.filter((r) => r.commit_id === sha)).toHaveLength(1);
  });

  it("posts only for the newest of two pushes delivered out of order", async () => {
    const { number } = sim.openPull({ "app.py": "import yaml\n" });
    const older = sim.push(number, { "app.py": FLAGGED });
    const olderEvent = sim.pullRequestEvent("synchronize", number);
    const newer = sim.push(number, { "app.py": FLAGGED.replace("read(path)", "read_config(path)") });
    const newerEvent = sim.pullRequestEvent("synchronize", number);
    await sim.deliver(app.webhooks, "pull_request", newerEvent, SECRET);
    await sim.deliver(app.webhooks, "pull_request", olderEvent, SECRET);
    await sim.settled(newer);
    await sim.settled(older);
    expect(sim.reviews.filter((r) => r.commit_id === older)).toHaveLength(0);
    expect(sim.reviews.filter((r) => r.commit_id === newer)).toHaveLength(1);
    expect(sim.checkRun(older)).toMatchObject({ conclusion: "neutral" });
    expect(sim.checkRun(older)!.output.summary).toContain(`superseded by ${newer}`);
    expect(sim.checkRun(newer)).toMatchObject({ conclusion: "failure" });
  });

  it("ends neutral with the reason after bounded retries of 502s", async () => {
    const { number, sha } = sim.openPull({ "app.py": FLAGGED });
    sim.faults.push({
      match: new RegExp(`GET /api/v3/repos/.*/pulls/${number}/files`),
      status: 502,
      times: 3,
    });
    await sim.deliver(app.webhooks, "pull_request", sim.pullRequestEvent("opened", number), SECRET);
    await sim.settled(sha, 1, 30_000);
    const tries = sim.received.filter((r) => r.path.includes(`/pulls/${number}/files`));
    expect(tries).toHaveLength(3);
    expect(sim.checkRun(sha)).toMatchObject({ conclusion: "neutral" });
    expect(sim.checkRun(sha)!.output.summary).toContain("502 after 3 attempts");
  }, 30_000);

  it("waits out a secondary rate limit with retry-after, then reviews", async () => {
    const { number, sha } = sim.openPull({ "app.py": FLAGGED });
    sim.faults.push({
      match: /POST \/api\/graphql/,
      status: 403,
      times: 1,
      headers: { "retry-after": "1" },
    });
    await sim.deliver(app.webhooks, "pull_request", sim.pullRequestEvent("opened", number), SECRET);
    await sim.settled(sha, 1, 30_000);
    expect(sim.checkRun(sha)).toMatchObject({ conclusion: "failure" });
  }, 30_000);

  it("logs no token, secret or key", async () => {
    const all = app.logs.join("\n");
    expect(all).toContain("review finished");
    expect(all).not.toContain(SECRET);
    expect(all).not.toMatch(/ghs_sim[0-9a-f]{10}/);
    expect(all).not.toContain(key.split("\n")[1]);
  });
});

describe("starting", () => {
  it("refuses to start without WEBHOOK_SECRET", async () => {
    const child = spawn(process.execPath, [path.join(ROOT, "bin/mlreview-app.js")], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", APP_ID: "1", PRIVATE_KEY: key, NODE_ENV: "production", PORT: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (b) => {
      err += String(b);
    });
    const code = await new Promise((r) => child.on("exit", r));
    expect(code).toBe(1);
    expect(err).toContain("refusing to start: WEBHOOK_SECRET is not set");
  });
});

describe("a push during a review", () => {
  it("ends the running review neutral, superseded by the newer commit, which gets the review", async () => {
    const { number, sha: first } = sim.openPull({ "app.py": FLAGGED });
    sim.delays.push({ match: new RegExp(`GET /api/v3/repos/.*/pulls/${number}/files`), ms: 1500, times: 1 });
    await sim.deliver(app.webhooks, "pull_request", sim.pullRequestEvent("opened", number), SECRET);
    await new Promise((r) => setTimeout(r, 500));
    const second = sim.push(number, { "app.py": FLAGGED.replace("read(path)", "load(path)") });
    await sim.deliver(app.webhooks, "pull_request", sim.pullRequestEvent("synchronize", number), SECRET);
    await sim.settled(second, 1, 30_000);
    await sim.settled(first, 1, 30_000);
    expect(sim.checkRun(first)).toMatchObject({ conclusion: "neutral" });
    expect(sim.checkRun(first)!.output.summary).toContain(`superseded by ${second}`);
    expect(sim.reviews.filter((r) => r.commit_id === first)).toHaveLength(0);
    expect(sim.reviews.filter((r) => r.commit_id === second)).toHaveLength(1);
  }, 30_000);
});

describe("stopping", () => {
  it("exits cleanly on SIGTERM", async () => {
    const other = await startApp(`127.0.0.1:1`);
    await other.stop();
    expect(await other.exit).toBe(0);
    expect(other.logs.some((l) => l.includes("SIGTERM"))).toBe(true);
  });
});
