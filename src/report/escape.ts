// Text that comes from code (messages quoting it, paths, snippets) goes into GitHub markdown.
// There it must not ping anyone, open an HTML element, or close a code fence we opened.

const OUTSIDE_CODE: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "@": "&#64;" };

/**
 * Escapes text for markdown prose while keeping its `code spans`: inside a span GitHub renders
 * nothing (no mention fires, no HTML), outside it `@`, `<`, `>` and `&` become entities.
 */
export function escapeMarkdown(text: string): string {
  let out = "";
  let i = 0;
  const span = /(`+)([\s\S]*?[^`])\1(?!`)/g;
  for (let m = span.exec(text); m; m = span.exec(text)) {
    out += escapePlain(text.slice(i, m.index)) + m[0];
    i = m.index + m[0].length;
  }
  return out + escapePlain(text.slice(i));
}

function escapePlain(s: string): string {
  return s.replace(/[&<>@]/g, (c) => OUTSIDE_CODE[c]);
}

/** A code span showing `text` literally, whatever backticks it contains. */
export function codeSpan(text: string): string {
  const flat = text.replace(/[\r\n]+/g, " ");
  const longest = Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = "`".repeat(longest + 1);
  const pad = flat.startsWith("`") || flat.endsWith("`") ? " " : "";
  return `${ticks}${pad}${flat}${pad}${ticks}`;
}

/** A fence for a code block that `content` cannot close. */
export function fenceFor(content: string): string {
  const longest = Math.max(0, ...[...content.matchAll(/^ {0,3}(`{3,})/gm)].map((m) => m[1].length));
  return "`".repeat(Math.max(3, longest + 1));
}

/**
 * Cuts markdown to at most `max` characters at a line boundary, closing a code fence left open
 * and saying that it was cut.
 */
export function capMarkdown(
  text: string,
  max: number,
  note = "\n\n_…cut to fit GitHub's size limit._",
): string {
  if (text.length <= max) return text;
  const lines = text.split("\n");
  const kept: string[] = [];
  let size = 0;
  let openFence: string | undefined;
  const budget = max - note.length - 20;
  for (const line of lines) {
    if (size + line.length + 1 > budget) break;
    kept.push(line);
    size += line.length + 1;
    const fence = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (!openFence) openFence = fence;
      else if (fence[0] === openFence[0] && fence.length >= openFence.length) openFence = undefined;
    }
  }
  let out = kept.join("\n");
  if (out.length > budget) out = out.slice(0, budget);
  if (openFence) out += `\n${openFence}`;
  return out + note;
}
