// `npm run bench`: the engine's speed and memory against its targets, on real Python.
// Prints lines/s, parse-only time measured in the same run, their ratio, peak memory and cold
// start; exits 1 when a target is missed.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Engine } from "../src/engine/engine.js";
import { initParser } from "../src/engine/parser.js";
import type { SourceFile } from "../src/engine/types.js";
import { type CorpusFile, mlCorpus, stdlibCorpus } from "./corpus.js";

const TARGETS = { ratio: 2.0, msPer10k: 150, peakMb: 250, coldMs: 250 };
const ROUNDS = 5;

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function countLines(files: CorpusFile[]): number {
  return files.reduce((n, f) => n + f.text.split("\n").length, 0);
}

async function measure(engine: Engine, files: CorpusFile[]) {
  const { parser } = await initParser();
  const selection = new Map(engine.rules.map((r) => [r.id, { severity: r.severity }]));
  const sources: SourceFile[] = files.map((f) => ({ path: f.path, content: f.text }));
  const parse: number[] = [];
  const review: number[] = [];
  let findings = 0;
  // One warm-up round of each, then alternate so both see the same machine state.
  for (let round = 0; round <= ROUNDS; round++) {
    let t = performance.now();
    for (const f of files) parser.parse(f.text)?.delete();
    const p = performance.now() - t;
    t = performance.now();
    const result = await engine.review(sources, { selection });
    const r = performance.now() - t;
    findings = result.findings.length;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (round > 0) {
      parse.push(p);
      review.push(r);
    }
    (globalThis as { gc?: () => void }).gc?.();
  }
  return { parse: median(parse), review: median(review), findings };
}

function coldStart(): number {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "cold.js");
  const runs = [0, 1, 2].map(() =>
    Number(execFileSync(process.execPath, [script], { encoding: "utf8" }).trim()),
  );
  return median(runs);
}

const engine = await Engine.create();
const stdlib = stdlibCorpus(30_000);
const cases = engine.rules.flatMap((r) =>
  [...r.cases.invalid, ...r.cases.valid].filter((c) => !c.path || c.path.endsWith(".py")).map((c) => c.code),
);
const ml = mlCorpus(cases, 10_000);

// The targets apply to real code (the standard library). The rules' own cases, repeated, are a
// stress test where nearly every line wakes a rule; they are printed for information.
const rows: {
  name: string;
  lines: number;
  parse: number;
  review: number;
  findings: number;
  target: boolean;
}[] = [];
for (const [name, files, target] of [
  [stdlib.name, stdlib.files, true],
  [`stress: the rules' own cases, repeated (information only)`, ml, false],
] as const) {
  const m = await measure(engine, files as CorpusFile[]);
  rows.push({ name, lines: countLines(files as CorpusFile[]), target, ...m });
}
clearInterval(sampler);
const cold = coldStart();
const peakMb = peakRss / 1024 / 1024;

let ok = true;
const check = (pass: boolean, target = true) => {
  if (!target) return pass ? "" : "(over)";
  ok &&= pass;
  return pass ? "ok" : "MISSED";
};
console.log(
  `mlreview bench: ${engine.rules.length} rules, all enabled, whole-file mode, median of ${ROUNDS} warm rounds\n`,
);
for (const r of rows) {
  const ratio = r.review / r.parse;
  const per10k = (r.review / r.lines) * 10_000;
  console.log(r.name);
  console.log(`  lines            ${r.lines}`);
  console.log(`  parse only       ${r.parse.toFixed(1)} ms`);
  console.log(
    `  full review      ${r.review.toFixed(1)} ms  (${Math.round((r.lines / r.review) * 1000)} lines/s, ${r.findings} findings)`,
  );
  console.log(
    `  review / parse   ${ratio.toFixed(2)}  (target ≤ ${TARGETS.ratio})  ${check(ratio <= TARGETS.ratio, r.target)}`,
  );
  console.log(
    `  per 10k lines    ${per10k.toFixed(1)} ms  (target ≤ ${TARGETS.msPer10k} ms)  ${check(per10k <= TARGETS.msPer10k, r.target)}`,
  );
}
console.log(
  `peak memory        ${peakMb.toFixed(0)} MB  (target ≤ ${TARGETS.peakMb} MB)  ${check(peakMb <= TARGETS.peakMb)}`,
);
console.log(
  `cold start         ${cold.toFixed(0)} ms  (target ≤ ${TARGETS.coldMs} ms)  ${check(cold <= TARGETS.coldMs)}`,
);
console.log(ok ? "\nAll targets met." : "\nSome targets were missed.");
process.exitCode = ok ? 0 : 1;
