import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileKind } from "../engine/decode.js";

const SKIP_DIRS = new Set([
  ".git",
  "node_modules",
  "__pycache__",
  ".venv",
  "venv",
  ".tox",
  ".mypy_cache",
  ".pytest_cache",
  "site-packages",
  ".eggs",
]);

/** Files under the given paths that mlreview reads, as paths relative to `cwd` (forward slashes). */
export function collectFiles(inputs: string[], cwd: string): { files: string[]; missing: string[] } {
  const files: string[] = [];
  const missing: string[] = [];
  const visit = (abs: string) => {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(abs);
    } catch {
      missing.push(path.relative(cwd, abs) || ".");
      return;
    }
    if (st.isDirectory()) {
      for (const entry of readdirSync(abs).sort()) {
        if (SKIP_DIRS.has(entry) || entry.endsWith(".egg-info")) continue;
        const child = path.join(abs, entry);
        const childStat = statSync(child, { throwIfNoEntry: false });
        if (!childStat) continue;
        if (childStat.isDirectory()) visit(child);
        else if (fileKind(entry)) files.push(toRel(child, cwd));
      }
    } else {
      files.push(toRel(abs, cwd));
    }
  };
  for (const input of inputs) visit(path.resolve(cwd, input));
  return { files: [...new Set(files)], missing };
}

function toRel(abs: string, cwd: string): string {
  return path.relative(cwd, abs).split(path.sep).join("/");
}

/** Dependency manifests at the project root (`requirements*.txt`, `pyproject.toml`). */
export function readManifests(root: string, cwd: string): Map<string, string> {
  const out = new Map<string, string>();
  let entries: string[] = [];
  try {
    entries = readdirSync(root);
  } catch {
    return out;
  }
  for (const entry of entries.sort()) {
    if (fileKind(entry) !== "manifest") continue;
    const abs = path.join(root, entry);
    try {
      if (statSync(abs).size > 1_000_000) continue;
      out.set(toRel(abs, cwd), readFileSync(abs, "utf8"));
    } catch {
      // unreadable manifests are simply not visible to rules
    }
  }
  return out;
}
