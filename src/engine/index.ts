export { decode, fileKind, MAX_FILE_BYTES } from "./decode.js";
export { DEFAULT_DOCS_URL, Engine } from "./engine.js";
export { defaultRulesDir, loadRules, packageRoot, RuleLoadError } from "./load-rules.js";
export { canonicalName, nameMatches, resolveDotted } from "./names.js";
export type { CheckContext, RuleCase, RuleMeta } from "./rule.js";
export * from "./types.js";
