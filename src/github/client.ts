// The one place mlreview talks to GitHub. Every request goes through `call`, which counts it,
// waits out rate limits the way GitHub asks (`retry-after`, `x-ratelimit-reset`), retries
// server errors with backoff, and gives up after a few attempts: no retry storms.
import type { ProbotOctokit } from "probot";

export type Octokit = InstanceType<typeof ProbotOctokit>;

export interface RetryPolicy {
  /** Attempts per request, the first included. */
  attempts: number;
  /** Retries allowed across one review, so many failing calls cannot add up to a storm. */
  budget: number;
  /** Longest wait mlreview accepts; a rate limit resetting later ends the review instead. */
  maxWaitMs: number;
  /** First backoff for server errors; doubles per attempt. */
  backoffMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 3,
  budget: 10,
  maxWaitMs: 60_000,
  backoffMs: 1_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => Date.now(),
};

/** A GitHub failure the review cannot get past, with a reason fit for the check run. */
export class GitHubError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    /** The installation is gone or lost access (401, 404): stop without further calls. */
    readonly gone: boolean,
  ) {
    super(message);
  }
}

interface HttpErrorLike {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
  /** GraphQL answers a spent limit with 200 and an error of type RATE_LIMITED. */
  errors?: { type?: string }[];
  headers?: Record<string, string | number | undefined>;
}

export interface CallLog {
  warn: (obj: object, msg: string) => void;
}

export class GitHubClient {
  /** Requests made, retries included. */
  calls = 0;
  retries = 0;

  constructor(
    readonly octokit: Octokit,
    readonly owner: string,
    readonly repo: string,
    private readonly policy: RetryPolicy = DEFAULT_RETRY,
    private readonly log?: CallLog,
  ) {}

  /** Runs one request with mlreview's rate-limit and retry rules. `what` names it in errors. */
  async call<T>(what: string, request: () => Promise<T>, options: { goneOn404?: boolean } = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      this.calls++;
      try {
        return await request();
      } catch (e) {
        const err = e as HttpErrorLike;
        const status = typeof err.status === "number" ? err.status : undefined;
        const wait = this.retryDelay(err, status, attempt);
        const last = attempt >= this.policy.attempts || this.retries >= this.policy.budget;
        if (wait === undefined || last || wait > this.policy.maxWaitMs) {
          throw this.failure(what, err, status, options.goneOn404 ?? true, wait, attempt);
        }
        this.retries++;
        this.log?.warn({ request: what, status, attempt, waitMs: wait }, "GitHub request failed; retrying");
        await this.policy.sleep(wait);
      }
    }
  }

  /** How long to wait before retrying, or undefined when the error is not worth a retry. */
  private retryDelay(err: HttpErrorLike, status: number | undefined, attempt: number): number | undefined {
    if (err.errors?.some((e) => e.type === "RATE_LIMITED")) {
      const reset = Number(err.headers?.["x-ratelimit-reset"]) * 1000;
      return Number.isFinite(reset) ? Math.max(0, reset - this.policy.now()) + 1000 : 60_000;
    }
    if (err.errors) return undefined;
    const headers = err.response?.headers ?? {};
    const retryAfter = Number(headers["retry-after"]);
    if (
      (status === 403 || status === 429) &&
      Number.isFinite(retryAfter) &&
      headers["retry-after"] !== undefined
    ) {
      return Math.max(0, retryAfter) * 1000;
    }
    if ((status === 403 || status === 429) && String(headers["x-ratelimit-remaining"]) === "0") {
      const reset = Number(headers["x-ratelimit-reset"]) * 1000;
      return Number.isFinite(reset) ? Math.max(0, reset - this.policy.now()) + 1000 : undefined;
    }
    if ((status === 403 || status === 429) && /secondary rate limit/i.test(err.message ?? "")) {
      // GitHub asks for at least a minute when it names no time.
      return 60_000;
    }
    if (status === undefined || status >= 500) return this.policy.backoffMs * 2 ** (attempt - 1);
    return undefined;
  }

  private failure(
    what: string,
    err: HttpErrorLike,
    status: number | undefined,
    goneOn404: boolean,
    wait: number | undefined,
    attempts: number,
  ): GitHubError {
    const gone = status === 401 || (status === 404 && goneOn404);
    let reason: string;
    if (wait !== undefined && wait > this.policy.maxWaitMs) {
      reason = `GitHub's rate limit blocks ${what} for ${Math.ceil(wait / 1000)} s`;
    } else if (status === undefined) {
      reason = `${what} failed: ${firstLine(err.message ?? "network error")}`;
    } else {
      reason = `${what} failed: GitHub answered ${status}${status >= 500 ? ` after ${attempts} attempts` : ""}`;
    }
    return new GitHubError(reason, status, gone);
  }
}

function firstLine(s: string): string {
  return s.split("\n")[0].slice(0, 200);
}
