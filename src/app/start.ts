// `npm start`: the app under Probot's own server and environment variables.
import { run } from "probot";
import { createApp } from "./app.js";
import { createLogger } from "./logger.js";
import { MlreviewOctokit } from "./octokit.js";

/** Probot falls back to this secret when none is set; anyone could sign deliveries with it. */
const WELL_KNOWN_SECRET = "development";
/** Docker waits 10 s between SIGTERM and SIGKILL. */
const SHUTDOWN_GRACE_MS = 8_000;

/** Why the app must not start with this environment, or undefined when it may. */
export function refusal(env: NodeJS.ProcessEnv): string | undefined {
  const development = env.NODE_ENV === "development";
  if (development) return undefined;
  if (!env.WEBHOOK_SECRET) {
    return "WEBHOOK_SECRET is not set. Set it to the webhook secret of your GitHub App (or NODE_ENV=development to run without one locally).";
  }
  if (env.WEBHOOK_SECRET === WELL_KNOWN_SECRET) {
    return `WEBHOOK_SECRET is Probot's well-known default "${WELL_KNOWN_SECRET}". Use your GitHub App's own secret.`;
  }
  return undefined;
}

export async function start(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    process.loadEnvFile();
  } catch {
    // no .env file: the environment is all there is
  }
  const why = refusal(env);
  if (why) {
    process.stderr.write(`mlreview: refusing to start: ${why}\n`);
    process.exitCode = 1;
    return;
  }
  const log = createLogger(env);
  const { app, idle } = createApp();
  const server = await run(app, { Octokit: MlreviewOctokit, log, env });
  // Containers stop with SIGTERM: take no new deliveries, let running reviews end their check
  // runs, but do not outstay the orchestrator's grace period.
  process.once("SIGTERM", () => {
    log.info("SIGTERM: finishing running reviews before exiting");
    const grace = new Promise((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref());
    void server
      .stop()
      .catch(() => undefined)
      .then(() => Promise.race([idle(), grace]))
      .finally(() => process.exit(0));
  });
}
