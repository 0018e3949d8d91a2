// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are free-form JSON
// The simulator must refuse what GitHub refuses, or the end-to-end tests prove nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GitHubSimulator } from "../../scripts/simulator/github.js";

let sim: GitHubSimulator;
let base: string;
let token: string;

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; data: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `token ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, data: await res.json() };
}

beforeAll(async () => {
  sim = new GitHubSimulator({ owner: "o", repo: "r" });
  base = `http://${await sim.start()}/api/v3`;
  const res = await fetch(`${base}/app/installations/1/access_tokens`, { method: "POST" });
  token = ((await res.json()) as { token: string }).token;
  sim.setBranch("main", { "a.py": "x = 1\ny = 2\n" });
});

afterAll(() => sim.stop());

describe("GitHub simulator", () => {
  it("listens on 127.0.0.1 only and asks for a token", async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v3$/);
    const res = await fetch(`${base}/repos/o/r/pulls`);
    expect(res.status).toBe(401);
  });

  it("gives GitHub-shaped patches", async () => {
    const { number } = sim.openPull({ "a.py": "x = 1\nz = 3\ny = 2\n" });
    const { data } = await call("GET", `/repos/o/r/pulls/${number}/files?per_page=100&page=1`);
    expect(data[0]).toMatchObject({
      filename: "a.py",
      status: "modified",
      patch: "@@ -1,2 +1,3 @@\n x = 1\n+z = 3\n y = 2",
    });
  });

  it("rejects review comments off the diff, a commit not in the pull request, and long bodies", async () => {
    const { number, sha } = sim.openPull({ "a.py": "x = 1\ny = 2\n", "b.py": "b = 1\n" });
    const review = (over: object) =>
      call("POST", `/repos/o/r/pulls/${number}/reviews`, {
        commit_id: sha,
        event: "COMMENT",
        body: "r",
        comments: [],
        ...over,
      });
    expect((await review({ comments: [{ path: "a.py", line: 1, side: "RIGHT", body: "c" }] })).status).toBe(
      422,
    );
    expect((await review({ comments: [{ path: "b.py", line: 2, side: "RIGHT", body: "c" }] })).status).toBe(
      422,
    );
    expect((await review({ comments: [{ path: "b.py", line: 1, side: "LEFT", body: "c" }] })).status).toBe(
      422,
    );
    expect((await review({ commit_id: "f".repeat(40) })).status).toBe(422);
    expect((await review({ body: "x".repeat(65_537) })).status).toBe(422);
    expect((await review({ comments: [{ path: "b.py", line: 1, side: "RIGHT", body: "c" }] })).status).toBe(
      200,
    );
    expect(sim.reviews).toHaveLength(1);
  });

  it("rejects more than 50 annotations in one request and summaries over 65,535 characters", async () => {
    const { sha } = sim.openPull({ "a.py": "q = 1\n" });
    const annotation = { path: "a.py", start_line: 1, end_line: 1, annotation_level: "notice", message: "m" };
    const output = (n: number, summary = "s") => ({
      title: "t",
      summary,
      annotations: Array(n).fill(annotation),
    });
    const created = await call("POST", "/repos/o/r/check-runs", {
      name: "mlreview",
      head_sha: sha,
      status: "in_progress",
    });
    expect(created.status).toBe(201);
    const id = created.data.id;
    expect((await call("PATCH", `/repos/o/r/check-runs/${id}`, { output: output(51) })).status).toBe(422);
    expect(
      (await call("PATCH", `/repos/o/r/check-runs/${id}`, { output: output(1, "x".repeat(65_536)) })).status,
    ).toBe(422);
    expect(
      (await call("PATCH", `/repos/o/r/check-runs/${id}`, { output: output(50), conclusion: "success" }))
        .status,
    ).toBe(200);
    expect(sim.checkRun(sha)).toMatchObject({ status: "completed", conclusion: "success" });
  });
});
