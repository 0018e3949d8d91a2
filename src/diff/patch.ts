// Unified patches, as GitHub gives them in a file's `patch` and as `git diff` prints them.

export interface DiffLines {
  /** Lines added by the change (right side, 1-based). */
  added: Set<number>;
  /** Right-side lines inside hunks (added and context): where a review comment may go. */
  commentable: Set<number>;
}

export interface FileDiff extends DiffLines {
  /** Path after the change (`undefined` when the file was deleted). */
  path: string | undefined;
  /** Path before the change (`undefined` when the file was added). */
  oldPath: string | undefined;
  status: "added" | "modified" | "removed" | "renamed";
  binary: boolean;
}

const HUNK = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/;

/** Added and commentable lines of one file's patch (the hunks only, as in GitHub's `patch`). */
export function parsePatch(patch: string | undefined | null): DiffLines {
  const added = new Set<number>();
  const commentable = new Set<number>();
  if (!patch) return { added, commentable };
  let line = 0;
  let remaining = 0;
  for (const raw of patch.split("\n")) {
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const h = HUNK.exec(text);
    if (h) {
      line = Number(h[1]);
      remaining = h[2] === undefined ? 1 : Number(h[2]);
      continue;
    }
    if (remaining <= 0 && !text.startsWith("-")) continue;
    const c = text[0];
    if (c === "+") {
      added.add(line);
      commentable.add(line);
      line++;
      remaining--;
    } else if (c === " " || (raw === "" && remaining > 0)) {
      // A context line (an editor may have stripped the lone space of a blank one).
      commentable.add(line);
      line++;
      remaining--;
    }
    // "-" (removed) and "\ No newline at end of file" touch no right-side line.
  }
  return { added, commentable };
}

function unquote(p: string): string {
  if (p.startsWith('"') && p.endsWith('"')) {
    return p
      .slice(1, -1)
      .replace(/\\(["\\])/g, "$1")
      .replace(/\\t/g, "\t")
      .replace(/\\n/g, "\n");
  }
  return p;
}

function stripPrefix(p: string): string | undefined {
  const s = unquote(p.trim());
  if (s === "/dev/null") return undefined;
  return s.replace(/^[ab]\//, "");
}

/** Splits the output of `git diff` into one entry per file. */
export function parseGitDiff(output: string): FileDiff[] {
  const files: FileDiff[] = [];
  const chunks = output.split(/^(?=diff --git )/m).filter((c) => c.startsWith("diff --git "));
  for (const chunk of chunks) {
    const lines = chunk.split("\n");
    let oldPath: string | undefined;
    let newPath: string | undefined;
    let status: FileDiff["status"] = "modified";
    let binary = false;
    let hunkStart = lines.length;
    const header = /^diff --git (?:"?a\/(.+?)"?) (?:"?b\/(.+?)"?)$/.exec(lines[0]);
    if (header) {
      oldPath = header[1];
      newPath = header[2];
    }
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i];
      if (l.startsWith("@@")) {
        hunkStart = i;
        break;
      }
      if (l.startsWith("new file mode")) status = "added";
      else if (l.startsWith("deleted file mode")) status = "removed";
      else if (l.startsWith("rename from ")) {
        oldPath = unquote(l.slice("rename from ".length));
        status = "renamed";
      } else if (l.startsWith("rename to ")) newPath = unquote(l.slice("rename to ".length));
      else if (l.startsWith("--- ")) oldPath = stripPrefix(l.slice(4)) ?? oldPath;
      else if (l.startsWith("+++ ")) {
        const p = stripPrefix(l.slice(4));
        if (p === undefined) status = "removed";
        else newPath = p;
      } else if (l.startsWith("Binary files ")) binary = true;
    }
    if (status === "added") oldPath = undefined;
    if (status === "removed") newPath = undefined;
    const { added, commentable } = parsePatch(lines.slice(hunkStart).join("\n"));
    files.push({ path: newPath, oldPath, status, binary, added, commentable });
  }
  return files;
}
