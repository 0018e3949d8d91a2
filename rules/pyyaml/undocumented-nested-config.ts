import { isMap, isPair, isScalar, isSeq, type Node as YamlNode } from "yaml";
import { defineCheck } from "../../src/engine/rule.js";
import { notAConfig, readByOtherTool } from "./_lib.js";

const MIN_DEPTH = 3;
// A handful of keys explain themselves; the rule is about configs that have grown.
const MIN_KEYS = 4;
// A `#` that starts a comment: at the line start or after whitespace (`a#b` is text in YAML).
const COMMENT = /(^|\s)#/m;
// Files that carry their documentation in values: `description: ...`, `help_text: ...`.
const DOC_KEY = /^(?:description|desc|help|help_text|doc|docs|docstring|comment|comments|_comment|notes?)$/i;

const BASE_KEY = /^_{1,2}base_{1,2}$/i;

interface DeepKey {
  node: YamlNode;
  path: string;
}

export default defineCheck((ctx) => {
  const { yaml } = ctx;
  if (COMMENT.test(ctx.text) || yaml.errors.length > 0 || yaml.docs.length !== 1) return;
  if (readByOtherTool(ctx.path, yaml.docs) || notAConfig(ctx.path)) return;
  if (yaml.maxDepth() < MIN_DEPTH) return;
  // An override of a base config (`_BASE_: ../Base-RCNN-FPN.yaml` in detectron2/yacs, `_base_` in
  // mmcv): the keys are documented where the base defines them.
  const top = yaml.docs[0].contents;
  if (isMap(top) && top.items.some((p) => isScalar(p.key) && BASE_KEY.test(String(p.key.value)))) return;
  let keys = 0;
  let documented = false;
  let depth = 0;
  const deep: DeepKey[] = [];
  const walk = (n: unknown, level: number, path: string[]) => {
    if (isSeq(n)) {
      for (const item of n.items) walk(item, level, path);
      return;
    }
    if (!isMap(n)) return;
    depth = Math.max(depth, level);
    for (const pair of n.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      keys++;
      const key = String(pair.key.value);
      if (DOC_KEY.test(key)) documented = true;
      const here = [...path, key];
      if (level >= MIN_DEPTH) deep.push({ node: pair.key, path: here.join(".") });
      walk(pair.value, level + 1, here);
    }
  };
  walk(yaml.docs[0].contents, 1, []);
  if (depth < MIN_DEPTH || keys < MIN_KEYS || documented) return;
  const first = deep.find((d) => ctx.isAdded(yaml.spanOf(d.node).line));
  if (!first) return;
  ctx.report(yaml.spanOf(first.node), {
    message:
      `This config nests ${depth} levels deep (\`${first.path}\`, …) and has no comment anywhere. ` +
      "Add a short `#` comment on the sections and on keys whose meaning, unit or allowed values are not obvious, so the file stays readable as it grows.",
  });
});
