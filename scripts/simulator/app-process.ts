// Starts the compiled app as a user would (`node bin/mlreview-app.js` with Probot's environment)
// against the simulator, and stops it again.
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { packageRoot } from "../../src/engine/load-rules.js";

export const ROOT = packageRoot();
export const SECRET = "e2e-webhook-secret-5f3c9a1d";

export interface RunningApp {
  url: string;
  webhooks: string;
  logs: string[];
  exit: Promise<number | null>;
  stop: () => Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export function privateKey(): string {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
}

export async function startApp(gheHost: string, env: Record<string, string> = {}): Promise<RunningApp> {
  if (!existsSync(path.join(ROOT, "dist/src/app/start.js"))) {
    throw new Error("dist/ is missing: run `npm run build` first (npm test does)");
  }
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, "bin/mlreview-app.js")], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "production",
      APP_ID: "1",
      PRIVATE_KEY: privateKey(),
      WEBHOOK_SECRET: SECRET,
      GHE_HOST: gheHost,
      GHE_PROTOCOL: "http",
      HOST: "127.0.0.1",
      PORT: String(port),
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: string[] = [];
  const collect = (b: Buffer) => logs.push(...b.toString("utf8").split("\n").filter(Boolean));
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exit = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 45_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the app exited: ${logs.join("\n")}`);
    try {
      const res = await fetch(`${url}/ping`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`the app did not start: ${logs.join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    webhooks: `${url}/api/github/webhooks`,
    logs,
    exit,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exit;
    },
  };
}
