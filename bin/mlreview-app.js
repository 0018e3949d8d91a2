#!/usr/bin/env node
// Runs the GitHub App (`npm run build` writes dist/). Configured by Probot's environment
// variables: APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, WEBHOOK_SECRET, PORT, HOST, GHE_HOST...
import { start } from "../dist/src/app/start.js";

await start();
