import { describe, expect, it } from "vitest";
import { needsManifests } from "../../src/app/manifests.js";
import {
  addedPatch,
  deliver,
  finalUpdate,
  harness,
  mockPosting,
  mockReview,
  prPayload,
  useMockedGitHub,
} from "./harness.js";

const PYKAN = "kan/unpinned-pykan";

useMockedGitHub();

const kanFile = ["from kan import KAN", "", "model = KAN(width=[2, 5, 1], grid=5, k=3)"];

describe("repository manifests", () => {
  it("are wanted only when a changed file imports a module a manifest rule judges", () => {
    expect(needsManifests(["import torch\n", "from kan import KAN\n"])).toBe(true);
    expect(needsManifests(["import kan.utils as ku\n"])).toBe(true);
    expect(needsManifests(["import torch\nkanban = 1\n"])).toBe(false);
  });

  it("are fetched at the head so an added kan import is judged against requirements.txt", async () => {
    const h = harness([PYKAN]);
    const text = `${kanFile.join("\n")}\n`;
    const s = {
      files: [{ path: "train.py", text, patch: addedPatch(kanFile) }],
      repoFiles: { "requirements.txt": "torch==2.3.0\npykan>=0.2\n" },
    };
    const got = mockReview(s);
    mockPosting(s, got);
    await deliver(h, "pull_request", prPayload("opened"));
    await h.idle();

    const asked = got.graphql.flatMap((b) => Object.values(b.variables as Record<string, string>));
    expect(asked).toContain(`${"a".repeat(40)}:requirements.txt`);
    // A style finding: below the default `comment_on: warn`, so it lives in the check run.
    expect(got.reviews).toHaveLength(0);
    const done = finalUpdate(got);
    expect(done).toMatchObject({ status: "completed", conclusion: "success" });
    expect(done.output.annotations).toHaveLength(1);
    expect(done.output.annotations[0]).toMatchObject({
      path: "train.py",
      start_line: 1,
      annotation_level: "notice",
    });
    expect(done.output.annotations[0].message).toContain("requirements.txt");
  });

  it("leave a pinned pykan alone", async () => {
    const h = harness([PYKAN]);
    const text = `${kanFile.join("\n")}\n`;
    const s = {
      files: [{ path: "train.py", text, patch: addedPatch(kanFile) }],
      repoFiles: { "pyproject.toml": '[project]\ndependencies = ["pykan==0.2.8"]\n' },
    };
    const got = mockReview(s);
    mockPosting(s, got);
    await deliver(h, "pull_request", prPayload("opened"));
    await h.idle();
    expect(got.reviews).toHaveLength(0);
    const done = finalUpdate(got);
    expect(done).toMatchObject({ status: "completed", conclusion: "success" });
    expect(done.output.annotations ?? []).toHaveLength(0);
  });
});
