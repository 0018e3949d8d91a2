import { describe, expect, it } from "vitest";
import {
  deliver,
  finalUpdate,
  flaggedFile,
  HEAD,
  harness,
  mockPosting,
  mockReview,
  prPayload,
  RULE,
  useMockedGitHub,
} from "./harness.js";

useMockedGitHub();

describe("one review", () => {
  it("opens a check run, comments on the flagged line and fails the check", async () => {
    const h = harness();
    const f = flaggedFile(1);
    const s = { files: [{ path: "train.py", text: f.text, patch: f.patch }], review: true };
    const got = mockReview(s);
    mockPosting(s, got);
    await deliver(h, "pull_request", prPayload("opened"));
    await h.idle();

    expect(got.checkCreates).toHaveLength(1);
    expect(got.checkCreates[0]).toMatchObject({ name: "mlreview", head_sha: HEAD, status: "in_progress" });
    expect(got.reviews).toHaveLength(1);
    const review = got.reviews[0];
    expect(review).toMatchObject({ commit_id: HEAD, event: "COMMENT" });
    expect(review.comments).toHaveLength(1);
    const c = review.comments[0];
    expect(c).toMatchObject({ path: "train.py", line: 3, side: "RIGHT" });
    expect(c.body).toContain("critical");
    expect(c.body).toContain(RULE);
    expect(c.body).toContain("[docs](https://");
    expect(c.body).toContain("```suggestion\nc0 = yaml.safe_load(");
    expect(c.body).toMatch(/<!-- mlreview:fingerprints [0-9a-f]+ -->$/);

    const done = finalUpdate(got);
    expect(done).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(done.output.annotations).toHaveLength(1);
    expect(done.output.annotations[0]).toMatchObject({
      path: "train.py",
      start_line: 3,
      annotation_level: "failure",
    });
    expect(done.output.summary).toContain(RULE);
  });

  it("passes a clean pull request with no review posted", async () => {
    const h = harness();
    const s = { files: [{ path: "ok.py", text: "x = 1\n", patch: "@@ -0,0 +1 @@\n+x = 1" }] };
    const got = mockReview(s);
    mockPosting(s, got);
    await deliver(h, "pull_request", prPayload("synchronize"));
    await h.idle();
    expect(got.reviews).toHaveLength(0);
    expect(finalUpdate(got)).toMatchObject({
      status: "completed",
      conclusion: "success",
      output: { title: "No findings" },
    });
  });
});
