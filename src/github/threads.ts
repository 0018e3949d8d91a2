import { commentFingerprints } from "../report/comment.js";
import type { GitHubClient } from "./client.js";

export interface AppThread {
  id: string;
  path: string;
  fingerprints: string[];
}

interface ThreadsPage {
  repository: {
    pullRequest: {
      reviewThreads: {
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
        nodes: {
          id: string;
          isResolved: boolean;
          path: string;
          comments: { totalCount: number; nodes: { author: { login: string } | null; body: string }[] };
        }[];
      };
    } | null;
  };
}

const THREADS_QUERY = `query($owner: String!, $repo: String!, $number: Int!, $cursor: String) {
  repository(owner: $owner, name: $repo) {
    pullRequest(number: $number) {
      reviewThreads(first: 100, after: $cursor) {
        pageInfo { hasNextPage endCursor }
        nodes {
          id
          isResolved
          path
          comments(first: 20) { totalCount nodes { author { login } body } }
        }
      }
    }
  }
}`;

const MAX_THREAD_PAGES = 20;

/**
 * The app's unresolved threads that nobody else has replied to: the ones mlreview may resolve
 * on its own. GraphQL names a bot without the `[bot]` suffix REST uses.
 */
export async function openAppThreads(
  gh: GitHubClient,
  number: number,
  botLogin: string,
): Promise<AppThread[]> {
  const names = new Set([botLogin, botLogin.replace(/\[bot\]$/, "")]);
  const out: AppThread[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_THREAD_PAGES; page++) {
    const data: ThreadsPage = await gh.call("reading review threads", () =>
      gh.octokit.graphql<ThreadsPage>(THREADS_QUERY, { owner: gh.owner, repo: gh.repo, number, cursor }),
    );
    const threads = data.repository.pullRequest?.reviewThreads;
    if (!threads) break;
    for (const t of threads.nodes) {
      if (t.isResolved || t.comments.nodes.length === 0) continue;
      const [first] = t.comments.nodes;
      if (!first.author || !names.has(first.author.login)) continue;
      const othersReplied =
        t.comments.totalCount > t.comments.nodes.length ||
        t.comments.nodes.some((c) => !c.author || !names.has(c.author.login));
      if (othersReplied) continue;
      const fingerprints = commentFingerprints(first.body);
      if (fingerprints.length > 0) out.push({ id: t.id, path: t.path, fingerprints });
    }
    if (!threads.pageInfo.hasNextPage || !threads.pageInfo.endCursor) break;
    cursor = threads.pageInfo.endCursor;
  }
  return out;
}

export async function resolveThread(gh: GitHubClient, id: string): Promise<void> {
  await gh.call("resolving a review thread", () =>
    gh.octokit.graphql(
      `mutation($id: ID!) { resolveReviewThread(input: { threadId: $id }) { thread { id isResolved } } }`,
      { id },
    ),
  );
}
