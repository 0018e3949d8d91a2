import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY, GitHubClient, GitHubError, type Octokit } from "../../src/github/client.js";

const httpError = (status: number, headers: Record<string, string> = {}, message = "x") =>
  Object.assign(new Error(message), { status, response: { headers } });

function client(now = 0) {
  const sleeps: number[] = [];
  const gh = new GitHubClient({} as Octokit, "o", "r", {
    ...DEFAULT_RETRY,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  return { gh, sleeps };
}

describe("GitHub client retries", () => {
  it("honours x-ratelimit-reset when the primary limit is spent", async () => {
    const { gh, sleeps } = client(1_000_000);
    let n = 0;
    const out = await gh.call("x", async () => {
      if (n++ === 0) throw httpError(403, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1010" });
      return "ok";
    });
    expect(out).toBe("ok");
    expect(sleeps).toEqual([11_000]);
    expect(gh.calls).toBe(2);
  });

  it("does not retry client errors and marks 401 as gone", async () => {
    const { gh, sleeps } = client();
    await expect(gh.call("x", async () => Promise.reject(httpError(422)))).rejects.toMatchObject({
      status: 422,
      gone: false,
    });
    await expect(gh.call("x", async () => Promise.reject(httpError(401)))).rejects.toBeInstanceOf(
      GitHubError,
    );
    expect(sleeps).toEqual([]);
  });

  it("has a retry budget across a review, so many failing calls cannot storm", async () => {
    const { gh, sleeps } = client();
    for (let i = 0; i < 8; i++) {
      await gh.call("x", async () => Promise.reject(httpError(503))).catch(() => undefined);
    }
    expect(sleeps.length).toBe(DEFAULT_RETRY.budget);
    expect(gh.calls).toBeLessThanOrEqual(8 + DEFAULT_RETRY.budget);
  });
});

describe("GraphQL limits", () => {
  it("waits for the reset of a RATE_LIMITED GraphQL answer, and does not retry other GraphQL errors", async () => {
    const { gh, sleeps } = client(2_000_000);
    let n = 0;
    const limited = Object.assign(new Error("API rate limit exceeded"), {
      errors: [{ type: "RATE_LIMITED" }],
      headers: { "x-ratelimit-reset": "2005" },
    });
    expect(await gh.call("q", async () => (n++ === 0 ? Promise.reject(limited) : "ok"))).toBe("ok");
    expect(sleeps).toEqual([6000]);
    const bad = Object.assign(new Error("Field 'x' doesn't exist"), { errors: [{ type: "undefinedField" }] });
    await expect(gh.call("q", async () => Promise.reject(bad))).rejects.toBeInstanceOf(GitHubError);
    expect(sleeps).toHaveLength(1);
  });
});
