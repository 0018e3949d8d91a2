import type { FileKind } from "./types.js";

export const MAX_FILE_BYTES = 1_000_000;

/** The kind of file a path names, or undefined when mlreview does not read it. */
export function fileKind(path: string): FileKind | undefined {
  const base = path.slice(path.lastIndexOf("/") + 1).toLowerCase();
  if (base.endsWith(".py") || base.endsWith(".pyi")) return "python";
  if (base.endsWith(".yaml") || base.endsWith(".yml")) return "yaml";
  if (/^requirements[\w.-]*\.(txt|in)$/.test(base) || base === "pyproject.toml") return "manifest";
  return undefined;
}

export type Decoded = { text: string } | { skip: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Text of a file, or the reason to skip it: too large, binary or not UTF-8. */
export function decode(content: string | Uint8Array): Decoded {
  if (typeof content === "string") {
    if (content.length > MAX_FILE_BYTES) return { skip: `larger than ${MAX_FILE_BYTES / 1_000_000} MB` };
    if (content.includes("\u0000")) return { skip: "binary file" };
    return { text: content };
  }
  if (content.byteLength > MAX_FILE_BYTES) return { skip: `larger than ${MAX_FILE_BYTES / 1_000_000} MB` };
  if (content.includes(0)) return { skip: "binary file" };
  try {
    let text = utf8.decode(content);
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return { text };
  } catch {
    return { skip: "not valid UTF-8" };
  }
}
