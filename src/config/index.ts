export { CONFIG_FILE, formatConfigError, loadConfig, MAX_CONFIG_BYTES } from "./load.js";
export { buildSchema } from "./schema.js";
export { pathFilter, selectRules, unknownSelections } from "./select.js";
export type { ConfigError, ConfigResult, ResolvedConfig, RuleInfo, RuleOverride } from "./types.js";
export { DEFAULT_CONFIG } from "./types.js";
