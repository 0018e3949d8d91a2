export { formatGithubActions } from "./github-actions.js";
export { formatJson } from "./json.js";
export { formatSarif, type SarifOptions } from "./sarif.js";
export { formatText, type TextOptions } from "./text.js";
