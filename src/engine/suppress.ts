// `# mlreview: ignore[rule-a, rule-b] -- reason` on the flagged line or the line above;
// `# mlreview: ignore-file[rule-a]` anywhere in the file. A bare `ignore` silences every rule.

const DIRECTIVE = /#\s*mlreview:\s*(ignore-file|ignore)(?:\[([^\]]*)\])?/g;

export interface Suppressions {
  isSuppressed(rule: string, line: number): boolean;
}

export function readSuppressions(lines: readonly string[]): Suppressions {
  const byLine = new Map<number, Set<string> | "all">();
  const file = new Set<string>();
  let fileAll = false;
  lines.forEach((text, i) => {
    if (!text.includes("mlreview:")) return;
    for (const m of text.matchAll(DIRECTIVE)) {
      const ids = m[2]
        ?.split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      if (m[1] === "ignore-file") {
        if (!ids) fileAll = true;
        else for (const id of ids) file.add(id);
      } else {
        const prev = byLine.get(i + 1);
        if (!ids || prev === "all") byLine.set(i + 1, "all");
        else byLine.set(i + 1, new Set([...(prev ?? []), ...ids]));
      }
    }
  });
  const covers = (entry: Set<string> | "all" | undefined, rule: string) =>
    entry !== undefined && (entry === "all" || entry.has(rule) || entry.has(rule.split("/")[0]));
  return {
    isSuppressed(rule, line) {
      if (fileAll || file.has(rule) || file.has(rule.split("/")[0])) return true;
      return covers(byLine.get(line), rule) || covers(byLine.get(line - 1), rule);
    },
  };
}
