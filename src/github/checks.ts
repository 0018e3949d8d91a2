import { ANNOTATIONS_PER_REQUEST, type Annotation } from "../report/check-run.js";
import type { GitHubClient } from "./client.js";

export const CHECK_NAME = "mlreview";

export type Conclusion = "success" | "failure" | "neutral";

export interface CheckOutput {
  title: string;
  summary: string;
}

export async function startCheckRun(gh: GitHubClient, sha: string): Promise<number> {
  const { data } = await gh.call("creating the check run", () =>
    gh.octokit.rest.checks.create({
      owner: gh.owner,
      repo: gh.repo,
      name: CHECK_NAME,
      head_sha: sha,
      status: "in_progress",
      started_at: new Date().toISOString(),
      output: { title: "Reviewing", summary: "mlreview is reviewing this commit." },
    }),
  );
  return data.id;
}

/** A check run that is over as soon as it exists (a superseded or stale commit). */
export async function completedCheckRun(
  gh: GitHubClient,
  sha: string,
  conclusion: Conclusion,
  output: CheckOutput,
): Promise<void> {
  await gh.call("creating the check run", () =>
    gh.octokit.rest.checks.create({
      owner: gh.owner,
      repo: gh.repo,
      name: CHECK_NAME,
      head_sha: sha,
      status: "completed",
      conclusion,
      completed_at: new Date().toISOString(),
      output,
    }),
  );
}

/**
 * Sends every annotation, 50 per request as GitHub requires, and completes the run with the
 * last request (one request when there are none).
 */
export async function finishCheckRun(
  gh: GitHubClient,
  id: number,
  conclusion: Conclusion,
  output: CheckOutput,
  annotations: readonly Annotation[] = [],
): Promise<void> {
  const batches: Annotation[][] = [];
  for (let i = 0; i < annotations.length; i += ANNOTATIONS_PER_REQUEST) {
    batches.push(annotations.slice(i, i + ANNOTATIONS_PER_REQUEST));
  }
  if (batches.length === 0) batches.push([]);
  for (const [i, batch] of batches.entries()) {
    const last = i === batches.length - 1;
    await gh.call("updating the check run", () =>
      gh.octokit.rest.checks.update({
        owner: gh.owner,
        repo: gh.repo,
        check_run_id: id,
        output: { ...output, ...(batch.length ? { annotations: batch } : {}) },
        ...(last ? { status: "completed" as const, conclusion, completed_at: new Date().toISOString() } : {}),
      }),
    );
  }
}
