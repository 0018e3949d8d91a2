// Qualified-name resolution: rules match what a name means, never how it is spelled.

/** Local name → fully qualified name, from a file's import statements. */
export type ImportMap = Map<string, string>;

// Several distributions publish one API under more than one module path. Names are rewritten to
// one canonical spelling so that a rule lists each API once.
const LIGHTNING_SUBPACKAGES = new Set(["pytorch", "fabric", "app", "data", "store"]);

export function canonicalName(name: string): string {
  if (name.startsWith("tensorflow.keras.")) return `keras.${name.slice("tensorflow.keras.".length)}`;
  if (name === "tensorflow.keras") return "keras";
  if (name.startsWith("tensorflow.python.keras."))
    return `keras.${name.slice("tensorflow.python.keras.".length)}`;
  if (name === "pytorch_lightning") return "lightning.pytorch";
  if (name.startsWith("pytorch_lightning."))
    return `lightning.pytorch.${name.slice("pytorch_lightning.".length)}`;
  if (name.startsWith("lightning.")) {
    const second = name.split(".", 2)[1] ?? "";
    if (!LIGHTNING_SUBPACKAGES.has(second)) return `lightning.pytorch.${name.slice("lightning.".length)}`;
  }
  return name;
}

/**
 * Adds the bindings of one import statement (its source text) to `map`.
 * Handles `import a.b`, `import a.b as c`, `from a import b as c`, `from a import (b, c)`.
 * Relative imports bind to a name starting with "." so they never look like a library.
 */
export function addImportBindings(statement: string, map: ImportMap): void {
  const text = statement
    .replace(/#[^\n]*/g, "")
    .replace(/[()\\]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  const from = /^from (\S+) import (.+)$/.exec(text);
  if (from) {
    const module = from[1];
    for (const part of from[2].split(",")) {
      const m = /^\s*([\w*]+)(?:\s+as\s+(\w+))?\s*$/.exec(part);
      if (!m || m[1] === "*") continue;
      map.set(m[2] ?? m[1], canonicalName(`${module}.${m[1]}`));
    }
    return;
  }
  const imp = /^import (.+)$/.exec(text);
  if (!imp) return;
  for (const part of imp[1].split(",")) {
    const m = /^\s*([\w.]+)(?:\s+as\s+(\w+))?\s*$/.exec(part);
    if (!m) continue;
    if (m[2]) map.set(m[2], canonicalName(m[1]));
    else {
      // `import torch.nn` binds `torch`; attribute access spells out the rest.
      const root = m[1].split(".")[0];
      if (!map.has(root)) map.set(root, root);
    }
  }
}

const DOTTED = /^[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*$/;

export interface ResolvedName {
  /** The dotted name with its root replaced by what the import binds (canonicalised). */
  name: string;
  /** True when the root came from an import (so `name` is a library path, not a local). */
  imported: boolean;
}

/**
 * Resolves a dotted expression's source text (`y.load`, `nn.functional.relu`) through the import
 * map. Returns undefined for anything that is not a plain dotted name (calls, subscripts).
 */
export function resolveDotted(text: string, imports: ImportMap): ResolvedName | undefined {
  const compact = text.includes(" ") || text.includes("\n") ? text.replace(/\s+/g, "") : text;
  if (!DOTTED.test(compact)) return undefined;
  const dot = compact.indexOf(".");
  const root = dot < 0 ? compact : compact.slice(0, dot);
  const bound = imports.get(root);
  if (bound === undefined) return { name: compact, imported: false };
  return { name: canonicalName(dot < 0 ? bound : bound + compact.slice(dot)), imported: true };
}

/**
 * Tests a qualified name against a pattern: `*` stands for one dotted segment, `**` for any
 * number (including none). Patterns are canonicalised like names, so either spelling works.
 */
export function nameMatches(name: string | undefined, pattern: string): boolean {
  if (name === undefined) return false;
  if (!pattern.includes("*")) return name === canonicalPattern(pattern);
  return globRegex(pattern).test(name);
}

const patternCache = new Map<string, string>();
function canonicalPattern(pattern: string): string {
  let c = patternCache.get(pattern);
  if (c === undefined) {
    c = canonicalName(pattern);
    patternCache.set(pattern, c);
  }
  return c;
}

const globCache = new Map<string, RegExp>();
function globRegex(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (!re) {
    let out = "";
    let needDot = false;
    for (const [i, seg] of canonicalName(pattern).split(".").entries()) {
      if (seg === "**") {
        out += i === 0 ? "(?:\\w+\\.)*" : "(?:\\.\\w+)*";
        needDot = i !== 0;
        continue;
      }
      if (needDot) out += "\\.";
      out += seg === "*" ? "\\w+" : seg.split("*").join("\\w*");
      needDot = true;
    }
    re = new RegExp(`^${out}$`);
    globCache.set(pattern, re);
  }
  return re;
}

export function anyNameMatches(name: string | undefined, patterns: readonly string[]): boolean {
  return patterns.some((p) => nameMatches(name, p));
}
