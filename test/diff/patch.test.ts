import { describe, expect, it } from "vitest";
import { parseGitDiff, parsePatch } from "../../src/diff/index.js";

describe("parsePatch", () => {
  it("finds added and commentable lines over several hunks", () => {
    const patch = [
      "@@ -1,3 +1,4 @@",
      " import torch",
      "+import yaml",
      " ",
      " x = 1",
      "@@ -10,4 +11,3 @@ def f():",
      " a = 1",
      "-b = 2",
      "-c = 3",
      "+c = 4",
      " d = 5",
      "\\ No newline at end of file",
    ].join("\n");
    const d = parsePatch(patch);
    expect([...d.added]).toEqual([2, 12]);
    expect([...d.commentable]).toEqual([1, 2, 3, 4, 11, 12, 13]);
  });
  it("handles a new file and an absent patch", () => {
    expect([...parsePatch("@@ -0,0 +1,2 @@\n+a\n+b").added]).toEqual([1, 2]);
    expect(parsePatch(undefined).added.size).toBe(0);
  });
  it("handles single-line hunk headers", () => {
    expect([...parsePatch("@@ -3 +3 @@\n-x\n+y").added]).toEqual([3]);
  });
});

describe("parseGitDiff", () => {
  it("reads renames, deletions, new files and binaries", () => {
    const out = [
      "diff --git a/old.py b/new.py",
      "similarity index 90%",
      "rename from old.py",
      "rename to new.py",
      "index 1..2 100644",
      "--- a/old.py",
      "+++ b/new.py",
      "@@ -1,2 +1,2 @@",
      " a",
      "-b",
      "+c",
      "diff --git a/gone.py b/gone.py",
      "deleted file mode 100644",
      "--- a/gone.py",
      "+++ /dev/null",
      "@@ -1 +0,0 @@",
      "-x",
      "diff --git a/sub dir/n.py b/sub dir/n.py",
      "new file mode 100644",
      "--- /dev/null",
      "+++ b/sub dir/n.py",
      "@@ -0,0 +1 @@",
      "+y = 1",
      "diff --git a/w.bin b/w.bin",
      "Binary files a/w.bin and b/w.bin differ",
      "",
    ].join("\n");
    const files = parseGitDiff(out);
    expect(files.map((f) => [f.path, f.oldPath, f.status, [...f.added], f.binary])).toEqual([
      ["new.py", "old.py", "renamed", [2], false],
      [undefined, "gone.py", "removed", [], false],
      ["sub dir/n.py", undefined, "added", [1], false],
      ["w.bin", "w.bin", "modified", [], true],
    ]);
  });
});
