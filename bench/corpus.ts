import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export interface CorpusFile {
  path: string;
  text: string;
}

/** ~`lines` lines of real Python: the CPython standard library, or a generated corpus without python3. */
export function stdlibCorpus(lines: number): { name: string; files: CorpusFile[] } {
  let dir: string | undefined;
  try {
    dir = execFileSync("python3", ["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"], {
      encoding: "utf8",
    }).trim();
  } catch {
    dir = undefined;
  }
  if (!dir || !existsSync(dir)) return { name: "generated", files: generated(lines) };
  const files: CorpusFile[] = [];
  let total = 0;
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith(".py")) continue;
    const text = readFileSync(path.join(dir, name), "utf8");
    files.push({ path: `stdlib/${name}`, text });
    total += text.split("\n").length;
    if (total >= lines) break;
  }
  return { name: `CPython stdlib (${dir})`, files };
}

function generated(lines: number): CorpusFile[] {
  const block = [
    "import os",
    "import json",
    "",
    "class Config:",
    "    def __init__(self, path):",
    "        self.path = path",
    "        self.values = {}",
    "",
    "    def load(self):",
    "        with open(self.path) as f:",
    "            self.values = json.load(f)",
    "        return self.values",
    "",
    "def walk(root):",
    "    for dirpath, _, names in os.walk(root):",
    "        for n in names:",
    "            if n.endswith('.py'):",
    "                yield os.path.join(dirpath, n)",
    "",
  ].join("\n");
  const per = block.split("\n").length;
  const files: CorpusFile[] = [];
  for (let i = 0; i * per * 50 < lines; i++) files.push({ path: `gen/m${i}.py`, text: block.repeat(50) });
  return files;
}

/** ML-heavy code: every rule's own cases, repeated to about `lines` lines (wakes most rules). */
export function mlCorpus(cases: string[], lines: number): CorpusFile[] {
  const files: CorpusFile[] = [];
  let total = 0;
  for (let round = 0; total < lines; round++) {
    for (const [i, text] of cases.entries()) {
      files.push({ path: `ml/r${round}/c${i}.py`, text });
      total += text.split("\n").length;
      if (total >= lines) break;
    }
    if (cases.length === 0) break;
  }
  return files;
}
