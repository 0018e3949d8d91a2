// `npm run demo`: the real app, started as `npm start` would, reviews the bundled sample pull
// request on a local GitHub simulator. No credentials, no network: everything is on 127.0.0.1.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "../src/engine/load-rules.js";
import { SECRET, startApp } from "./simulator/app-process.js";
import { type Files, GitHubSimulator } from "./simulator/github.js";

function readTree(dir: string): Files {
  const out: Files = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d).sort()) {
      const abs = path.join(d, entry);
      if (statSync(abs).isDirectory()) walk(abs);
      else out[path.relative(dir, abs).split(path.sep).join("/")] = new Uint8Array(readFileSync(abs));
    }
  };
  walk(dir);
  return out;
}

const MARKER = /\n<!-- mlreview:fingerprints [^>]* -->\s*$/;
const indent = (s: string, by = "    ") =>
  s
    .split("\n")
    .map((l) => (l ? by + l : l))
    .join("\n");

async function main(): Promise<number> {
  const sample = path.join(packageRoot(), "examples/sample-pr");
  const { title } = JSON.parse(readFileSync(path.join(sample, "pull.json"), "utf8")) as { title: string };
  const sim = new GitHubSimulator({ owner: "octo-org", repo: "models" });
  const host = await sim.start();
  const app = await startApp(host, { LOG_LEVEL: "warn" });
  try {
    sim.setBranch("main", readTree(path.join(sample, "base")));
    const { number, sha } = sim.openPull(readTree(path.join(sample, "head")), { title });
    process.stdout.write(
      `GitHub simulator on http://${host}, mlreview on ${app.url}\n` +
        `Opened pull request #${number} "${title}" (head ${sha.slice(0, 7)}) and sent the signed webhook.\n\n`,
    );
    const status = await sim.deliver(
      app.webhooks,
      "pull_request",
      sim.pullRequestEvent("opened", number),
      SECRET,
    );
    if (status !== 200) throw new Error(`the app answered the webhook with ${status}`);
    await sim.settled(sha, 1, 60_000);

    for (const review of sim.reviews) {
      process.stdout.write(
        `── Review on ${review.commit_id.slice(0, 7)} (${review.event}) ──\n${indent(review.body)}\n\n`,
      );
      for (const c of review.comments) {
        const where = c.start_line ? `${c.path}:${c.start_line}-${c.line}` : `${c.path}:${c.line}`;
        process.stdout.write(`  ${where}\n${indent(c.body.replace(MARKER, ""))}\n\n`);
      }
    }
    if (sim.reviews.length === 0) process.stdout.write("── No review was posted ──\n\n");
    const run = sim.checkRun(sha)!;
    process.stdout.write(
      `── Check run "${run.name}": ${run.status}, ${run.conclusion} ──\n` +
        `  ${run.output.title}\n\n${indent(run.output.summary ?? "")}\n\n` +
        `  Annotations (${run.annotations.length}):\n` +
        run.annotations
          .map((a) => `    ${a.annotation_level} ${a.path}:${a.start_line} ${a.title}`)
          .join("\n") +
        "\n",
    );
    return 0;
  } finally {
    await app.stop();
    await sim.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: Error) => {
    process.stderr.write(`demo failed: ${e.message}\n`);
    process.exitCode = 1;
  },
);
