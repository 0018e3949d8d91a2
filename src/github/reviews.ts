import { commentFingerprints } from "../report/comment.js";
import type { GitHubClient } from "./client.js";

export interface ReviewComment {
  path: string;
  /** Last line the comment covers (right side). */
  line: number;
  /** First line, for a comment over several lines. */
  startLine?: number;
  body: string;
}

export interface PostedComments {
  /** Fingerprints in the app's comments on this pull request. */
  fingerprints: Set<string>;
  /** Commits the app has already reviewed with inline comments. */
  reviewedCommits: Set<string>;
}

const MAX_COMMENT_PAGES = 50;

/** Every review comment the app left on the pull request (all pages, bounded). */
export async function postedComments(
  gh: GitHubClient,
  number: number,
  botLogin: string,
): Promise<PostedComments> {
  const fingerprints = new Set<string>();
  const reviewedCommits = new Set<string>();
  for (let page = 1; page <= MAX_COMMENT_PAGES; page++) {
    const { data } = await gh.call("reading earlier review comments", () =>
      gh.octokit.rest.pulls.listReviewComments({
        owner: gh.owner,
        repo: gh.repo,
        pull_number: number,
        per_page: 100,
        page,
      }),
    );
    for (const c of data) {
      if (c.user?.login !== botLogin) continue;
      const fps = commentFingerprints(c.body);
      for (const fp of fps) fingerprints.add(fp);
      if (fps.length > 0 && c.original_commit_id) reviewedCommits.add(c.original_commit_id);
    }
    if (data.length < 100) break;
  }
  return { fingerprints, reviewedCommits };
}

/**
 * Posts one `COMMENT` review on `sha`. When GitHub refuses the inline comments (422) it is
 * asked once more with the body alone; a second refusal is the caller's to report.
 */
export async function postReview(
  gh: GitHubClient,
  number: number,
  sha: string,
  body: string,
  comments: readonly ReviewComment[],
  fallbackBody: string,
): Promise<{ inline: boolean }> {
  const create = (b: string, cs: readonly ReviewComment[]) =>
    gh.call(
      "posting the review",
      () =>
        gh.octokit.rest.pulls.createReview({
          owner: gh.owner,
          repo: gh.repo,
          pull_number: number,
          commit_id: sha,
          event: "COMMENT",
          body: b,
          comments: cs.map((c) => ({
            path: c.path,
            line: c.line,
            side: "RIGHT" as const,
            ...(c.startLine !== undefined && c.startLine < c.line
              ? { start_line: c.startLine, start_side: "RIGHT" as const }
              : {}),
            body: c.body,
          })),
        }),
      { goneOn404: true },
    );
  try {
    await create(body, comments);
    return { inline: true };
  } catch (e) {
    if ((e as { status?: number }).status !== 422 || comments.length === 0) throw e;
    await create(fallbackBody, []);
    return { inline: false };
  }
}
