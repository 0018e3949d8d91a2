import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningApp, SECRET, startApp } from "../../scripts/simulator/app-process.js";
import { GitHubSimulator } from "../../scripts/simulator/github.js";

const RULE = "pyyaml/unsafe-load";
const FLAGGED =
  "import yaml\n\n\ndef read_settings(path):\n    with open(path) as f:\n        return yaml.load(f)\n";
const FIXED = FLAGGED.replace("yaml.load(f)", "yaml.safe_load(f)");

let sim: GitHubSimulator;
let app: RunningApp;

beforeAll(async () => {
  sim = new GitHubSimulator();
  const host = await sim.start();
  app = await startApp(host);
}, 60_000);

afterAll(async () => {
  await app?.stop();
  await sim?.stop();
});

const ruleComments = (sha: string) =>
  sim.comments.filter((c) => c.commit_id === sha && c.body.includes(RULE));

describe("the app against a simulated GitHub", () => {
  it("reviews a pull request, does not repeat itself, and resolves what was fixed", async () => {
    sim.setBranch("main", { "README.md": "# models\n", "train/settings.py": "import yaml\n" });
    const { number, sha } = sim.openPull({ "README.md": "# models\n", "train/settings.py": FLAGGED });

    expect(
      await sim.deliver(app.webhooks, "pull_request", sim.pullRequestEvent("opened", number), SECRET),
    ).toBe(200);
    await sim.settled(sha);
    const first = sim.checkRun(sha)!;
    expect(first.name).toBe("mlreview");
    expect(first.conclusion).toBe("failure");
    expect(first.annotations.some((a) => a.path === "train/settings.py" && a.start_line === 6)).toBe(true);
    const comments = ruleComments(sha);
    expect(comments).toHaveLength(1);
    expect(comments[0]).toMatchObject({ path: "train/settings.py", line: 6 });
    expect(comments[0].body).toContain("```suggestion\n        return yaml.safe_load(f)\n```");

    // Another push that keeps the same problem: no second comment for it.
    const same = sim.push(number, {
      "README.md": "# models\n\nTraining settings.\n",
      "train/settings.py": FLAGGED,
    });
    await sim.deliver(app.webhooks, "pull_request", sim.pullRequestEvent("synchronize", number), SECRET);
    await sim.settled(same);
    expect(sim.checkRun(same)!.conclusion).toBe("failure");
    expect(sim.comments.filter((c) => c.body.includes(RULE))).toHaveLength(1);

    // The fix: its thread is resolved and the check is green.
    const fixed = sim.push(number, { "README.md": "# models\n", "train/settings.py": FIXED });
    await sim.deliver(app.webhooks, "pull_request", sim.pullRequestEvent("synchronize", number), SECRET);
    await sim.settled(fixed);
    expect(sim.checkRun(fixed)!.conclusion).toBe("success");
    const thread = sim.threads.find((t) => t.comments.includes(comments[0].id))!;
    expect(thread.resolved).toBe(true);
    expect(sim.reviews.every((r) => r.event === "COMMENT")).toBe(true);

    const line = app.logs.find((l) => l.includes('"review finished"') && l.includes(fixed));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ pr: number, head: fixed, conclusion: "success" });
  }, 60_000);
});
