#!/usr/bin/env node
// Runs the compiled CLI (`npm run build` writes dist/).
import { main } from "../dist/src/cli/main.js";

const code = await main(process.argv.slice(2), {
  cwd: process.cwd(),
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  isTTY: Boolean(process.stdout.isTTY),
});
process.exitCode = code;
