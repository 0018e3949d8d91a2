// Unified hunks between two texts, shaped like the `patch` GitHub gives for a pull request file.

const CONTEXT = 3;
const MAX_CELLS = 4_000_000;

type Op = { kind: " " | "-" | "+"; text: string; a: number; b: number };

function lines(text: string): string[] {
  if (text === "") return [];
  const out = text.split("\n");
  if (out[out.length - 1] === "") out.pop();
  return out;
}

/** Line edits from `a` to `b` (longest common subsequence; a full rewrite when too large). */
function edits(a: string[], b: string[]): Op[] {
  const ops: Op[] = [];
  if (a.length * b.length > MAX_CELLS) {
    for (const [i, text] of a.entries()) ops.push({ kind: "-", text, a: i + 1, b: 0 });
    for (const [j, text] of b.entries()) ops.push({ kind: "+", text, a: 0, b: j + 1 });
    return ops;
  }
  const w = b.length + 1;
  const table = new Uint32Array((a.length + 1) * w);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i * w + j] =
        a[i] === b[j]
          ? table[(i + 1) * w + j + 1] + 1
          : Math.max(table[(i + 1) * w + j], table[i * w + j + 1]);
    }
  }
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: " ", text: a[i], a: ++i, b: ++j });
    } else if (j < b.length && (i >= a.length || table[i * w + j + 1] >= table[(i + 1) * w + j])) {
      ops.push({ kind: "+", text: b[j], a: i, b: ++j });
    } else {
      ops.push({ kind: "-", text: a[i], a: ++i, b: j });
    }
  }
  return ops;
}

export interface Patch {
  patch: string;
  additions: number;
  deletions: number;
}

export function unifiedPatch(before: string, after: string): Patch {
  const ops = edits(lines(before), lines(after));
  const changed = ops.map((o, k) => (o.kind !== " " ? k : -1)).filter((k) => k >= 0);
  const additions = ops.filter((o) => o.kind === "+").length;
  const deletions = ops.filter((o) => o.kind === "-").length;
  if (changed.length === 0) return { patch: "", additions, deletions };
  const hunks: [number, number][] = [];
  for (const k of changed) {
    const from = Math.max(0, k - CONTEXT);
    const to = Math.min(ops.length - 1, k + CONTEXT);
    const last = hunks[hunks.length - 1];
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else hunks.push([from, to]);
  }
  const out: string[] = [];
  for (const [from, to] of hunks) {
    const slice = ops.slice(from, to + 1);
    const aLines = slice.filter((o) => o.kind !== "+").length;
    const bLines = slice.filter((o) => o.kind !== "-").length;
    const first = slice[0];
    const aStart = aLines === 0 ? first.a : first.kind === "+" ? first.a + 1 : first.a;
    const bStart = bLines === 0 ? first.b : first.kind === "-" ? first.b + 1 : first.b;
    out.push(`@@ -${aStart},${aLines} +${bStart},${bLines} @@`);
    for (const o of slice) out.push(`${o.kind}${o.text}`);
  }
  return { patch: out.join("\n"), additions, deletions };
}
