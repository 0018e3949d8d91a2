export { type DiffLines, type FileDiff, parseGitDiff, parsePatch } from "./patch.js";
