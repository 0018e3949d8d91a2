// Triggers are regexes over the diff's added lines, tested before anything is parsed. Written
// against a library's own names (`train_test_split(`), they would miss a line that calls an alias
// (`from sklearn.model_selection import train_test_split as tts` … `tts(X, y)`). So the probe also
// carries each added line that uses an alias, rewritten with the imported name.

const FROM_IMPORT = /^[ \t]*from[ \t]+[\w.]+[ \t]+import[ \t]*(\([^)]*\)|[^\n#]*)/gm;
const PLAIN_IMPORT = /^[ \t]*import[ \t]+([^\n#]*)/gm;
const MAX_ALIASES = 64;

/** Local alias → the name it stands for (`tts` → `train_test_split`, `np` → `numpy`), from the text. */
export function importAliases(text: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!/\bas\b/.test(text)) return out;
  const add = (original: string, alias: string) => {
    const name = original.split(".").pop()!;
    if (alias !== name && out.size < MAX_ALIASES) out.set(alias, name);
  };
  for (const m of text.matchAll(FROM_IMPORT)) {
    for (const part of m[1].replace(/[()\\]/g, " ").split(",")) {
      const a = /^\s*(\w+)\s+as\s+(\w+)\s*$/.exec(part);
      if (a) add(a[1], a[2]);
    }
  }
  for (const m of text.matchAll(PLAIN_IMPORT)) {
    for (const part of m[1].split(",")) {
      const a = /^\s*([\w.]+)\s+as\s+(\w+)\s*$/.exec(part);
      if (a) add(a[1], a[2]);
    }
  }
  return out;
}

/** The text triggers are tested against: the given lines, plus alias-expanded copies of those using one. */
export function triggerProbe(lines: readonly string[], aliases: ReadonlyMap<string, string>): string {
  const probe = lines.join("\n");
  if (aliases.size === 0) return probe;
  const any = new RegExp(`\\b(${[...aliases.keys()].join("|")})\\b`, "g");
  if (!any.test(probe)) return probe;
  const expanded: string[] = [];
  for (const line of lines) {
    any.lastIndex = 0;
    if (any.test(line)) expanded.push(line.replace(any, (alias) => aliases.get(alias)!));
  }
  return `${probe}\n${expanded.join("\n")}`;
}
