#!/usr/bin/env node
// Runs the GitHub App (`npm run build` writes dist/). Configured by Probot's environment
// variables: APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, WEBHOOK_SECRET, PORT, HOST, GHE_HOST...
import { existsSync } from "node:fs";

const entry = new URL("../dist/src/app/start.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("mlreview: dist/ is missing; run `npm run build` first.\n");
  process.exit(1);
}
const { start } = await import(entry.href);
await start();
