export type ConfigSeverity = "critical" | "warn" | "style";

export interface RuleOverride {
  enabled?: boolean;
  severity?: ConfigSeverity;
}

/** `.mlreview.yml` after validation, with defaults filled in. */
export interface ResolvedConfig {
  rules: Record<string, RuleOverride>;
  packs: Record<string, "on" | "off">;
  include: string[];
  exclude: string[];
  failOn: ConfigSeverity | "never";
  commentOn: ConfigSeverity;
  maxComments: number;
  filter: "added" | "diff_context";
}

export interface ConfigError {
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface ConfigResult {
  config: ResolvedConfig;
  /** Empty when the file is valid; otherwise `config` is the defaults. */
  errors: ConfigError[];
}

/** What the config module needs to know about a rule (plain data from the engine). */
export interface RuleInfo {
  id: string;
  pack: string;
  severity: ConfigSeverity;
  default: "on" | "opt";
}

export const DEFAULT_CONFIG: ResolvedConfig = {
  rules: {},
  packs: {},
  include: [],
  exclude: [],
  failOn: "critical",
  commentOn: "warn",
  maxComments: 25,
  filter: "added",
};
