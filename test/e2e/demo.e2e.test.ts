import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/simulator/app-process.js";

describe("npm run demo", () => {
  it("prints the review and the check run the real app posted on the sample pull request", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(ROOT, "dist/scripts/demo.js")],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "" },
        timeout: 60_000,
      },
    );
    expect(stdout).toContain("Review on");
    expect(stdout).toContain("train/run.py:11");
    expect(stdout).toContain("pyyaml/unsafe-load");
    expect(stdout).toContain("```suggestion");
    expect(stdout).toMatch(/Check run "mlreview": completed, failure/);
    expect(stdout).not.toContain("<!-- mlreview:fingerprints");
  }, 60_000);
});
