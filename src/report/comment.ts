import type { Finding, Severity } from "../engine/types.js";
import { capMarkdown, codeSpan, escapeMarkdown, fenceFor } from "./escape.js";

export const SEVERITY_TAG: Record<Severity, string> = {
  critical: "🔴 **critical**",
  warn: "🟠 **warn**",
  style: "🔵 **style**",
};

/** GitHub refuses comment bodies over 65,536 characters. */
export const MAX_COMMENT_CHARS = 65_536;
const MAX_MESSAGE_CHARS = 4_000;

const MARKER = /\n<!-- mlreview:fingerprints ([0-9a-f]+(?: [0-9a-f]+)*) -->\s*$/;

/**
 * One inline comment for the findings on one line: severity tag, rule id, message and docs
 * link for each, a suggestion block for the first one with a fix (`suggest` says whether the
 * comment's lines are exactly the fix's lines), and the hidden fingerprint marker last.
 */
export function commentBody(findings: readonly Finding[], suggest?: Finding): string {
  const parts = findings.map((f) => {
    const message = escapeMarkdown(clip(f.message.trim()));
    return `${SEVERITY_TAG[f.severity]} · ${codeSpan(f.rule)} · [docs](${safeUrl(f.docsUrl)})\n\n${message}`;
  });
  if (suggest?.fix) {
    const text = suggest.fix.replacement.text.replace(/\n$/, "");
    const fence = fenceFor(text);
    parts.push(`${fence}suggestion\n${text}\n${fence}`);
  }
  const marker = `\n<!-- mlreview:fingerprints ${findings.map((f) => f.fingerprint).join(" ")} -->`;
  return capMarkdown(parts.join("\n\n"), MAX_COMMENT_CHARS - marker.length - 1) + marker;
}

/** The fingerprints a comment of ours carries (none when it has no trailing marker). */
export function commentFingerprints(body: string | null | undefined): string[] {
  const m = body ? MARKER.exec(body) : null;
  return m ? m[1].split(" ") : [];
}

function clip(s: string): string {
  return s.length > MAX_MESSAGE_CHARS ? `${s.slice(0, MAX_MESSAGE_CHARS)}…` : s;
}

function safeUrl(url: string): string {
  return /^https?:\/\//.test(url) ? url.replace(/[()\s<>]/g, encodeURIComponent) : "#";
}
