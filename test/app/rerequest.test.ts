import nock from "nock";
import { describe, expect, it } from "vitest";
import {
  API,
  checkRunPayload,
  checkSuitePayload,
  deliver,
  finalUpdate,
  flaggedFile,
  HEAD,
  harness,
  mockPosting,
  mockReview,
  REPO_PATH,
  useMockedGitHub,
} from "./harness.js";

useMockedGitHub();

const openPulls = (sha: string) => [
  {
    number: 9,
    state: "open",
    draft: false,
    head: { sha: "c".repeat(40) },
    base: { ref: "main" },
    updated_at: "2026-01-01T00:00:00Z",
  },
  {
    number: 2,
    state: "open",
    draft: false,
    head: { sha },
    base: { ref: "main" },
    updated_at: "2026-01-01T00:00:00Z",
  },
];

describe("re-run requests", () => {
  it("finds a fork's pull request by head SHA when check_run.rerequested lists none", async () => {
    const h = harness();
    const f = flaggedFile(1);
    const s = { files: [{ path: "train.py", text: f.text, patch: f.patch }], review: true };
    nock(API)
      .get(`${REPO_PATH}/pulls`)
      .query({ state: "open", per_page: 100, page: 1 })
      .reply(200, openPulls(HEAD));
    const got = mockReview(s);
    mockPosting(s, got);
    await deliver(h, "check_run", checkRunPayload(HEAD, []));
    await h.idle();
    expect(got.checkCreates[0]).toMatchObject({ head_sha: HEAD });
    expect(got.reviews).toHaveLength(1);
    expect(finalUpdate(got).conclusion).toBe("failure");
  });

  it("reviews again on check_suite.rerequested without repeating comments", async () => {
    const h = harness();
    const s = { files: [{ path: "ok.py", text: "x = 1\n", patch: "@@ -0,0 +1 @@\n+x = 1" }] };
    nock(API).get(`${REPO_PATH}/pulls`).query(true).reply(200, openPulls(HEAD));
    const got = mockReview(s);
    mockPosting(s, got);
    await deliver(h, "check_suite", checkSuitePayload(HEAD, [2]));
    await h.idle();
    expect(finalUpdate(got).conclusion).toBe("success");
  });

  it("does nothing for a re-run of a commit that is no longer any pull request's head", async () => {
    const h = harness();
    nock(API)
      .post(/\/app\/installations\/\d+\/access_tokens/)
      .reply(201, { token: "ghs_x", expires_at: "2099-01-01T00:00:00Z" })
      .get(`${REPO_PATH}/pulls`)
      .query(true)
      .reply(200, openPulls("d".repeat(40)));
    await deliver(h, "check_run", checkRunPayload(HEAD, [2]));
    await h.idle();
  });
});
