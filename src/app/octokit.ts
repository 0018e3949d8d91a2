import { ProbotOctokit } from "probot";

/**
 * Probot's Octokit with its retry and throttling plugins off: mlreview's GitHub client does its
 * own bounded retries and honours secondary limits, which Probot's throttling only logs. A
 * defaults function runs after Probot's own options, so this choice is not overridden.
 */
export const MlreviewOctokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({
  ...options,
  retry: { enabled: false },
  throttle: { ...(options.throttle as object | undefined), enabled: false },
}));
