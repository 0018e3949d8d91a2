import { createHash } from "node:crypto";

/** Whitespace-insensitive form of a line, so re-indenting or re-spacing keeps the fingerprint. */
export function normaliseLine(text: string): string {
  return text.replace(/\s+/g, "");
}

/**
 * A fingerprint that survives unrelated edits: it never includes the line number, only the rule,
 * the path, the flagged line's normalised text and which occurrence of that text it is.
 */
export function fingerprint(rule: string, path: string, lineText: string, occurrence: number): string {
  return createHash("sha256")
    .update(`${rule}\u0000${path}\u0000${normaliseLine(lineText)}\u0000${occurrence}`)
    .digest("hex")
    .slice(0, 20);
}
