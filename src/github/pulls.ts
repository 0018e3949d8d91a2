import type { GitHubClient } from "./client.js";

/** What a review needs to know about a pull request. */
export interface PullInfo {
  number: number;
  state: string;
  draft: boolean;
  headSha: string;
  baseRef: string;
  changedFiles: number;
  updatedAt: string;
}

interface RawPull {
  number: number;
  state: string;
  draft?: boolean;
  head: { sha: string };
  base: { ref: string };
  changed_files?: number;
  updated_at: string;
}

export function pullInfo(p: RawPull): PullInfo {
  return {
    number: p.number,
    state: p.state,
    draft: p.draft ?? false,
    headSha: p.head.sha,
    baseRef: p.base.ref,
    changedFiles: p.changed_files ?? 0,
    updatedAt: p.updated_at,
  };
}

export async function getPull(gh: GitHubClient, number: number): Promise<PullInfo> {
  const { data } = await gh.call("reading the pull request", () =>
    gh.octokit.rest.pulls.get({ owner: gh.owner, repo: gh.repo, pull_number: number }),
  );
  return pullInfo(data as RawPull);
}

const MAX_PULL_PAGES = 10;

/**
 * Open pull requests whose head is `sha`. Check-run events from forks carry no pull request,
 * so the head SHA is all there is to go on.
 */
export async function pullsForSha(gh: GitHubClient, sha: string): Promise<PullInfo[]> {
  const out: PullInfo[] = [];
  for (let page = 1; page <= MAX_PULL_PAGES; page++) {
    const { data } = await gh.call("listing open pull requests", () =>
      gh.octokit.rest.pulls.list({ owner: gh.owner, repo: gh.repo, state: "open", per_page: 100, page }),
    );
    for (const p of data as RawPull[]) if (p.head.sha === sha) out.push(pullInfo(p));
    if (data.length < 100) break;
  }
  return out;
}
