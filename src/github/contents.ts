import { MAX_FILE_BYTES } from "../engine/decode.js";
import type { GitHubClient } from "./client.js";

/** File contents at one commit: bytes to review, or why a file was not fetched. */
export type Content = { bytes: Uint8Array } | { skip: string } | { missing: true };

/** Aliased `object(expression:)` lookups per GraphQL query. */
export const FILES_PER_QUERY = 40;
/** Bytes fetched per review, all files together. */
export const MAX_REVIEW_BYTES = 40_000_000;

interface BlobNode {
  oid: string;
  byteSize: number;
  isBinary: boolean | null;
  isTruncated: boolean;
  text: string | null;
}

const encoder = new TextEncoder();

/**
 * Head contents of `paths` in as few requests as possible: one GraphQL query per
 * {@link FILES_PER_QUERY} files. GitHub's blob `text` replaces bytes that are not UTF-8, so a
 * text with a replacement character is fetched again as raw bytes (one REST call) for the engine
 * to judge.
 */
export async function fetchContents(
  gh: GitHubClient,
  sha: string,
  paths: readonly string[],
): Promise<Map<string, Content>> {
  const out = new Map<string, Content>();
  let total = 0;
  for (let i = 0; i < paths.length; i += FILES_PER_QUERY) {
    const batch = paths.slice(i, i + FILES_PER_QUERY);
    if (total > MAX_REVIEW_BYTES) {
      for (const p of batch) out.set(p, { skip: "the review's size limit was reached" });
      continue;
    }
    const vars: Record<string, string> = { owner: gh.owner, repo: gh.repo };
    const decls = batch.map((_, j) => `$e${j}: String!`).join(", ");
    const fields = batch
      .map(
        (_p, j) =>
          `f${j}: object(expression: $e${j}) { ... on Blob { oid byteSize isBinary isTruncated text } }`,
      )
      .join("\n      ");
    batch.forEach((p, j) => {
      vars[`e${j}`] = `${sha}:${p}`;
    });
    const query = `query($owner: String!, $repo: String!, ${decls}) {
    repository(owner: $owner, name: $repo) {
      ${fields}
    }
  }`;
    const data = await gh.call("reading file contents", () =>
      gh.octokit.graphql<{ repository: Record<string, BlobNode | null> }>(query, vars).catch((e) => {
        // A path GitHub cannot resolve fails its alias, not the others: keep the partial data.
        const partial = (e as { data?: { repository?: Record<string, BlobNode | null> } }).data;
        if (partial?.repository) return { repository: partial.repository };
        throw e;
      }),
    );
    for (const [j, p] of batch.entries()) {
      const blob = data.repository?.[`f${j}`];
      if (!blob || blob.oid === undefined) {
        out.set(p, { missing: true });
        continue;
      }
      if (blob.byteSize > MAX_FILE_BYTES) {
        out.set(p, { skip: `larger than ${MAX_FILE_BYTES / 1_000_000} MB` });
        continue;
      }
      if (blob.isBinary || blob.text === null) {
        out.set(p, { skip: "binary file" });
        continue;
      }
      total += blob.byteSize;
      if (blob.isTruncated || blob.text.includes("\uFFFD")) {
        out.set(p, { bytes: await fetchBlob(gh, blob.oid) });
      } else {
        out.set(p, { bytes: encoder.encode(blob.text) });
      }
    }
  }
  return out;
}

async function fetchBlob(gh: GitHubClient, oid: string): Promise<Uint8Array> {
  const { data } = await gh.call("reading a file's bytes", () =>
    gh.octokit.rest.git.getBlob({ owner: gh.owner, repo: gh.repo, file_sha: oid }),
  );
  return new Uint8Array(Buffer.from(data.content, data.encoding === "base64" ? "base64" : "utf8"));
}

/** A small text file (the config) on a branch; undefined when it does not exist. */
export async function readTextFile(
  gh: GitHubClient,
  path: string,
  ref: string,
  maxBytes: number,
): Promise<{ text: string } | { tooLarge: number } | undefined> {
  let data: unknown;
  try {
    ({ data } = await gh.call(
      `reading ${path}`,
      () => gh.octokit.rest.repos.getContent({ owner: gh.owner, repo: gh.repo, path, ref }),
      { goneOn404: false },
    ));
  } catch (e) {
    if ((e as { status?: number }).status === 404) return undefined;
    throw e;
  }
  const file = data as { type?: string; size?: number; content?: string; encoding?: string };
  if (file.type !== "file") return undefined;
  if ((file.size ?? 0) > maxBytes) return { tooLarge: file.size ?? 0 };
  const text = Buffer.from(file.content ?? "", file.encoding === "base64" ? "base64" : "utf8").toString(
    "utf8",
  );
  return { text };
}
