import { execFileSync } from "node:child_process";

/** Runs git with arguments (never through a shell) and returns stdout. */
export function git(args: string[], cwd: string): string {
  return execFileSync("git", ["-c", "core.quotepath=off", ...args], {
    cwd,
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export function gitBytes(args: string[], cwd: string): Buffer {
  return execFileSync("git", args, { cwd, maxBuffer: 64 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"] });
}

export function repoRoot(cwd: string): string | undefined {
  try {
    return git(["rev-parse", "--show-toplevel"], cwd).trim();
  } catch {
    return undefined;
  }
}

function revExists(rev: string, cwd: string): boolean {
  try {
    git(["rev-parse", "--verify", "--quiet", `${rev}^{commit}`], cwd);
    return true;
  } catch {
    return false;
  }
}

/**
 * The default base of `mlreview diff`: where the current branch left the default branch, or
 * HEAD itself (the uncommitted changes) when on the default branch or when there is none.
 */
export function defaultBase(cwd: string): string {
  for (const candidate of ["origin/HEAD", "origin/main", "origin/master", "main", "master"]) {
    if (!revExists(candidate, cwd)) continue;
    try {
      const base = git(["merge-base", "HEAD", candidate], cwd).trim();
      const head = git(["rev-parse", "HEAD"], cwd).trim();
      return base === head ? "HEAD" : base;
    } catch {
      // unrelated histories: try the next candidate
    }
  }
  return "HEAD";
}

/** A git problem the user can fix (a bad revision, not a repository): reported as a usage error. */
export class GitError extends Error {}

export function assertRev(rev: string, cwd: string): void {
  if (!revExists(rev, cwd)) throw new GitError(`unknown revision "${rev}"`);
}
