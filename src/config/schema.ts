// The `.mlreview.yml` schema. One source: the validator compiles it, `npm run gen` writes it to
// schema/mlreview.schema.json for editors.

export const SEVERITY_VALUES = ["critical", "warn", "style"] as const;
export const FAIL_ON_VALUES = ["critical", "warn", "style", "never"] as const;
export const FILTER_VALUES = ["added", "diff_context"] as const;
export const RULE_STATE_VALUES = ["on", "off", ...SEVERITY_VALUES] as const;

export const TOP_LEVEL_KEYS = [
  "rules",
  "packs",
  "paths",
  "fail_on",
  "comment_on",
  "max_comments",
  "filter",
] as const;

export interface SchemaInputs {
  ruleIds: readonly string[];
  packs: readonly string[];
}

export function buildSchema({ ruleIds, packs }: SchemaInputs): Record<string, unknown> {
  const ruleState = {
    oneOf: [
      { enum: [...RULE_STATE_VALUES], description: "on, off, or a severity (which also turns the rule on)" },
      {
        type: "object",
        additionalProperties: false,
        properties: { enabled: { type: "boolean" }, severity: { enum: [...SEVERITY_VALUES] } },
      },
    ],
  };
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://github.com/mlreview/mlreview/schema/mlreview.schema.json",
    title: ".mlreview.yml",
    description: "Configuration of the mlreview pull-request reviewer.",
    type: "object",
    additionalProperties: false,
    properties: {
      rules: {
        description: "Per-rule settings: on (also turns on opt-in rules), off, or a severity.",
        type: "object",
        propertyNames: { enum: [...ruleIds] },
        additionalProperties: ruleState,
      },
      packs: {
        description: "Whole packs on or off.",
        type: "object",
        propertyNames: { enum: [...packs] },
        additionalProperties: { enum: ["on", "off"] },
      },
      paths: {
        type: "object",
        additionalProperties: false,
        properties: {
          include: { type: "array", maxItems: 200, items: { type: "string", minLength: 1, maxLength: 500 } },
          exclude: { type: "array", maxItems: 200, items: { type: "string", minLength: 1, maxLength: 500 } },
        },
      },
      fail_on: { enum: [...FAIL_ON_VALUES], description: "Lowest severity that fails the check run." },
      comment_on: { enum: [...SEVERITY_VALUES], description: "Lowest severity posted as an inline comment." },
      max_comments: {
        type: "integer",
        minimum: 0,
        maximum: 200,
        description: "Inline comments per review at most.",
      },
      filter: {
        enum: [...FILTER_VALUES],
        description: "Report on added lines only, or on any line in the diff.",
      },
    },
  };
}
