export { botLogin } from "./app.js";
export {
  CHECK_NAME,
  type CheckOutput,
  type Conclusion,
  completedCheckRun,
  finishCheckRun,
  startCheckRun,
} from "./checks.js";
export { DEFAULT_RETRY, GitHubClient, GitHubError, type Octokit, type RetryPolicy } from "./client.js";
export { type Content, fetchContents, readTextFile } from "./contents.js";
export { type ChangedFile, listChangedFiles, MAX_LISTED_FILES } from "./files.js";
export { getPull, type PullInfo, pullInfo, pullsForSha } from "./pulls.js";
export { type PostedComments, postedComments, postReview, type ReviewComment } from "./reviews.js";
export { type AppThread, openAppThreads, resolveThread } from "./threads.js";
