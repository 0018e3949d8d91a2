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

// ---- cheap gates, before any regex runs ------------------------------------------------------

const IMPORT_ROOT = /^[ \t]*(?:from[ \t]+([A-Za-z_]\w*)|import[ \t]+([^\n#]+))/gm;
// Import roots whose modules the name resolver rewrites to another root.
const ROOT_ALIASES: Record<string, string[]> = {
  pytorch_lightning: ["lightning"],
  tensorflow: ["keras"],
};

/**
 * Top-level modules the text imports, read with one regex pass (a superset of what the parser
 * will resolve: `requires-import` is checked again on the parsed file).
 */
export function importedRoots(text: string): Set<string> {
  const roots = new Set<string>();
  const add = (root: string) => {
    roots.add(root);
    for (const alias of ROOT_ALIASES[root] ?? []) roots.add(alias);
  };
  for (const m of text.matchAll(IMPORT_ROOT)) {
    if (m[1]) add(m[1]);
    else
      for (const part of m[2].split(",")) {
        const root = /^\s*\(?\s*([A-Za-z_]\w*)/.exec(part)?.[1];
        if (root) add(root);
      }
  }
  return roots;
}

/** True when the file may import one of the rule's required modules. */
export function mayImport(roots: ReadonlySet<string>, required: readonly string[]): boolean {
  return required.some((r) => roots.has(r.split(".")[0]));
}

/**
 * A literal that every match of the regex must contain, or undefined when none of 3+ characters
 * can be read off its source safely. Tested with `includes` before the regex itself runs.
 */
export function requiredLiterals(re: RegExp): string[] | undefined {
  if (re.flags.includes("i")) return undefined;
  const alternatives = splitTopLevel(re.source);
  const out: string[] = [];
  for (const alt of alternatives) {
    const lit = longestLiteral(alt);
    if (!lit || lit.length < 3) return undefined;
    out.push(lit);
  }
  return out;
}

function splitTopLevel(source: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inClass = false;
  let start = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") inClass = true;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "|" && depth === 0) {
      parts.push(source.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(source.slice(start));
  return parts;
}

const ESCAPED_LITERAL = /[.()[\]{}*+?^$|\\/-]/;

/** The longest run of characters the pattern matches literally, outside groups and classes. */
function longestLiteral(source: string): string | undefined {
  let best = "";
  let run = "";
  const end = () => {
    if (run.length > best.length) best = run;
    run = "";
  };
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    let lit: string | undefined;
    let next = i + 1;
    if (c === "\\") {
      const e = source[i + 1];
      next = i + 2;
      if (e !== undefined && ESCAPED_LITERAL.test(e)) lit = e;
    } else if (c === "(") {
      // Skip the whole group: what it matches is not a fixed text.
      let depth = 0;
      let j = i;
      for (; j < source.length; j++) {
        if (source[j] === "\\") j++;
        else if (source[j] === "(") depth++;
        else if (source[j] === ")" && --depth === 0) break;
      }
      next = j + 1;
    } else if (c === "[") {
      let j = i + 1;
      for (; j < source.length && source[j] !== "]"; j++) if (source[j] === "\\") j++;
      next = j + 1;
    } else if (!/[.*+?^${}|]/.test(c)) {
      lit = c;
    }
    const quant = source[next];
    if (lit === undefined) {
      end();
    } else if (quant === "?" || quant === "*" || quant === "{") {
      end();
    } else if (quant === "+") {
      run += lit;
      end();
    } else {
      run += lit;
    }
    i = next - 1;
    if (quant === "?" || quant === "*" || quant === "+") {
      i++;
      if (source[i + 1] === "?") i++;
    } else if (quant === "{") {
      const close = source.indexOf("}", next);
      i = close < 0 ? i : close;
    }
  }
  end();
  return best || undefined;
}
