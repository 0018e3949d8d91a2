export {
  ANNOTATIONS_PER_REQUEST,
  type Annotation,
  annotations,
  type CheckSummaryInput,
  checkSummary,
  checkTitle,
  MAX_SUMMARY_CHARS,
} from "./check-run.js";
export { commentBody, commentFingerprints, MAX_COMMENT_CHARS, SEVERITY_TAG } from "./comment.js";
export { capMarkdown, codeSpan, escapeMarkdown, fenceFor } from "./escape.js";
export { formatGithubActions } from "./github-actions.js";
export { formatJson } from "./json.js";
export { formatSarif, type SarifOptions } from "./sarif.js";
export { formatText, type TextOptions } from "./text.js";
