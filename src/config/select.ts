import picomatch from "picomatch";
import type { ConfigSeverity, ResolvedConfig, RuleInfo } from "./types.js";

/**
 * Which rules run and at which severity. `select` (from the command line) narrows the run to rule
 * ids and packs; `all` turns on every rule, opt-in ones included. An id named explicitly (in the
 * config or in `select`) turns an opt-in rule on.
 */
export function selectRules(
  config: ResolvedConfig,
  rules: readonly RuleInfo[],
  select?: readonly string[],
): Map<string, { severity: ConfigSeverity }> {
  const out = new Map<string, { severity: ConfigSeverity }>();
  const all = select?.includes("all") ?? false;
  for (const rule of rules) {
    const override = config.rules[rule.id];
    let enabled = rule.default === "on";
    if (config.packs[rule.pack] === "off") enabled = false;
    if (override?.enabled !== undefined) enabled = override.enabled;
    else if (override?.severity) enabled = true;
    if (select && select.length > 0 && !all) {
      if (select.includes(rule.id)) enabled = true;
      else if (!select.includes(rule.pack)) enabled = false;
    }
    if (all) enabled = true;
    if (enabled) out.set(rule.id, { severity: override?.severity ?? rule.severity });
  }
  return out;
}

/** Unknown names in a `--select` list, for a usage error. */
export function unknownSelections(select: readonly string[], rules: readonly RuleInfo[]): string[] {
  const known = new Set(["all", ...rules.map((r) => r.id), ...rules.map((r) => r.pack)]);
  return select.filter((s) => !known.has(s));
}

/** Whether a repository path is reviewed under `paths.include` / `paths.exclude`. */
export function pathFilter(config: ResolvedConfig): (path: string) => boolean {
  const opts = { dot: true, maxLength: 500 };
  const include = config.include.length > 0 ? picomatch(config.include, opts) : undefined;
  const exclude = config.exclude.length > 0 ? picomatch(config.exclude, opts) : undefined;
  return (path) => (!include || include(path)) && !(exclude?.(path) ?? false);
}
