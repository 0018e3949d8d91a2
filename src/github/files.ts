import type { GitHubClient } from "./client.js";

export interface ChangedFile {
  path: string;
  previousPath?: string;
  status: "added" | "removed" | "modified" | "renamed" | "copied" | "changed" | "unchanged";
  /** Unified hunks; GitHub leaves it out for binary and very large diffs. */
  patch?: string;
  changes: number;
}

/** GitHub lists at most 3,000 files of a pull request, 100 per page. */
export const MAX_LISTED_FILES = 3_000;
const PER_PAGE = 100;

export async function listChangedFiles(gh: GitHubClient, number: number): Promise<ChangedFile[]> {
  const out: ChangedFile[] = [];
  for (let page = 1; page <= MAX_LISTED_FILES / PER_PAGE; page++) {
    const { data } = await gh.call("listing the changed files", () =>
      gh.octokit.rest.pulls.listFiles({
        owner: gh.owner,
        repo: gh.repo,
        pull_number: number,
        per_page: PER_PAGE,
        page,
      }),
    );
    for (const f of data) {
      out.push({
        path: f.filename,
        previousPath: f.previous_filename,
        status: f.status,
        patch: f.patch,
        changes: f.changes,
      });
    }
    if (data.length < PER_PAGE) break;
  }
  return out;
}
