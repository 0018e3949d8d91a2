// The Probot app: short handlers that turn webhooks into queued review jobs.
import type { ApplicationFunction, Context, Probot } from "probot";
import { Engine } from "../engine/engine.js";
import {
  botLogin,
  CHECK_NAME,
  completedCheckRun,
  DEFAULT_RETRY,
  GitHubClient,
  type Octokit,
  pullsForSha,
  type RetryPolicy,
} from "../github/index.js";
import { ReviewQueue } from "./queue.js";
import { type Logger, type ReviewJob, runReview, superseded } from "./review.js";

export interface AppOptions {
  /** Shared engine (loaded once, on first use, when not given). */
  engine?: () => Promise<Engine>;
  retry?: Partial<RetryPolicy>;
  select?: readonly string[];
  concurrency?: number;
}

export interface MlreviewApp {
  app: ApplicationFunction;
  /** Resolves when every queued review is done. */
  idle: () => Promise<void>;
}

const RECENT_DELIVERIES = 1_000;

export function createApp(options: AppOptions = {}): MlreviewApp {
  let enginePromise: Promise<Engine> | undefined;
  const engine =
    options.engine ??
    (() => {
      enginePromise ??= Engine.create();
      return enginePromise;
    });
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  let queue: ReviewQueue<ReviewJob> | undefined;

  const app: ApplicationFunction = (probot: Probot) => {
    const log = probot.log.child({ name: "mlreview" }) as unknown as Logger;
    let login: Promise<string> | undefined;
    const deps = {
      engine,
      retry,
      log,
      select: options.select,
      botLogin: () => {
        login ??= probot.auth().then((o) => botLogin(o as unknown as Octokit));
        login.catch(() => {
          login = undefined;
        });
        return login;
      },
    };
    const q = new ReviewQueue<ReviewJob>(
      {
        run: (job) => runReview(job, deps),
        dropped: async (job, by) => {
          const gh = new GitHubClient(job.octokit, job.owner, job.repo, retry, log);
          await completedCheckRun(gh, job.sha, "neutral", superseded(by)).catch((e: Error) =>
            log.warn({ head: job.sha, reason: e.message }, "could not mark a superseded commit"),
          );
        },
        onError: (job, e) => log.error({ head: job.sha, err: e }, "review crashed"),
      },
      options.concurrency,
    );
    queue = q;

    const seen = new Set<string>();
    const firstDelivery = (id: string) => {
      if (seen.has(id)) return false;
      seen.add(id);
      if (seen.size > RECENT_DELIVERIES) seen.delete(seen.values().next().value as string);
      return true;
    };

    const enqueue = (job: ReviewJob) => {
      const outcome = q.enqueue(job);
      log.info({ key: job.key, head: job.sha, delivery: job.delivery, outcome }, "review requested");
    };

    const actions = [
      "pull_request.opened",
      "pull_request.synchronize",
      "pull_request.reopened",
      "pull_request.ready_for_review",
    ] as const;
    probot.on([...actions], async (context) => {
      if (!firstDelivery(context.id)) return;
      const pr = context.payload.pull_request;
      if (pr.state !== "open" || pr.draft) return;
      const { owner, repo } = context.repo();
      enqueue({
        key: `${owner}/${repo}#${pr.number}`,
        sha: pr.head.sha,
        order: Date.parse(pr.updated_at) || Date.now(),
        octokit: context.octokit as unknown as Octokit,
        owner,
        repo,
        number: pr.number,
        defaultBranch: context.payload.repository.default_branch,
        delivery: context.id,
      });
    });

    const rerequested = (context: Context, sha: string, numbers: number[]) => {
      const { owner, repo } = context.repo();
      const octokit = context.octokit as unknown as Octokit;
      const defaultBranch = (context.payload as { repository: { default_branch: string } }).repository
        .default_branch;
      // Finding the pull request takes API calls: do it after acknowledging the webhook.
      q.track(
        (async () => {
          const gh = new GitHubClient(octokit, owner, repo, retry, log);
          const pulls = await pullsForSha(gh, sha);
          const open = pulls.filter((p) => !p.draft && (numbers.length === 0 || numbers.includes(p.number)));
          for (const p of open) {
            enqueue({
              key: `${owner}/${repo}#${p.number}`,
              sha,
              order: Date.now(),
              octokit,
              owner,
              repo,
              number: p.number,
              defaultBranch,
              delivery: context.id,
            });
          }
          if (open.length === 0)
            log.info({ head: sha, delivery: context.id }, "no open pull request for this commit");
        })().catch((e: Error) =>
          log.warn({ head: sha, reason: e.message }, "could not find the pull request"),
        ),
      );
    };

    probot.on("check_run.rerequested", async (context) => {
      if (!firstDelivery(context.id)) return;
      const run = context.payload.check_run;
      if (run.name !== CHECK_NAME) return;
      rerequested(
        context,
        run.head_sha,
        run.pull_requests.map((p) => p.number),
      );
    });

    probot.on("check_suite.rerequested", async (context) => {
      if (!firstDelivery(context.id)) return;
      const suite = context.payload.check_suite;
      rerequested(
        context,
        suite.head_sha,
        (suite.pull_requests ?? []).map((p) => p.number),
      );
    });
  };

  return { app, idle: () => queue?.idle() ?? Promise.resolve() };
}
