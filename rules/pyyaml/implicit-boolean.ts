import { isPair, isScalar, isSeq, type Scalar, visit } from "yaml";
import { defineCheck } from "../../src/engine/rule.js";
import { readByOtherTool } from "./_lib.js";

// PyYAML's YAML 1.1 bool resolver accepts exactly these spellings (`y`, `n` and `yEs` stay strings).
const YAML11_WORDS = /^(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$/;
const TRUTHY = /^(?:yes|on)$/i;
// Keys whose value is meant as a flag: PyYAML's True/False is what the author wants, but the file
// should say `true`/`false` so that every reader (and YAML 1.2 parsers) agrees.
const FLAG_KEY =
  /^(?:(?:use|enable|disable|is|has|do|with|allow|should|skip|save|log|load|apply|freeze|print|show|keep|add|compute|normali[sz]e|run|no)_\w+|\w+_(?:enabled|disabled|flag|on|off)|enabled?|disabled?|debug|verbose|quiet|shuffle|pin_memory|drop_last|persistent_workers|pretrained|resume|deterministic|benchmark|fp16|bf16|amp|cuda|gpu|dry_run|overwrite|force|strict|bias|compile|augment|cache|active|required|fast_dev_run|sync_batchnorm|tensorboard|wandb|flag)$/i;

// Keys whose values are words or codes: `mode: off`, `country: NO`, `answer: yes`.
const TEXT_KEY =
  /(?:^|_)(?:mode|modes|state|status|country|countries|lang|language|languages|locale|answer|answers|reply|response|label|labels|code|codes|region|policy|strategy|value|values|level|setting|name|names|type|kind|choice|choices|option|options|word|words|token|tokens|text|category|class|iso|abbr|abbrev|abbreviation|prefix|suffix|tag|tags|key|keys)$/i;

function plainWord(node: unknown): node is Scalar & { source: string } {
  return (
    isScalar(node) &&
    node.type === "PLAIN" &&
    !node.tag &&
    node.range !== undefined &&
    typeof node.source === "string" &&
    YAML11_WORDS.test(node.source)
  );
}

type Edit = { description: string; edits: { at: { start: number; end: number }; text: string }[] };

export default defineCheck((ctx) => {
  const { yaml } = ctx;
  // A file PyYAML cannot parse (broken, or a Jinja template) fails before any value is read.
  if (!/\b(?:yes|no|on|off)\b/i.test(ctx.text) || yaml.errors.length > 0) return;
  // CI workflows (`on:`), compose (`restart: no`), Ansible (`become: yes`): their tools define the words.
  if (readByOtherTool(ctx.path, yaml.docs)) return;
  // One finding per line: `[yes, no]` or `{flip: on, crop: off}` is one thing to fix.
  const reported = new Set<number>();
  const report = (node: Scalar, message: string, fix?: Edit) => {
    const span = yaml.spanOf(node);
    if (reported.has(span.line)) return;
    reported.add(span.line);
    ctx.report(span, { message, fix });
  };
  for (const doc of yaml.docs) {
    visit(doc, {
      Scalar(key, node, path) {
        if (!plainWord(node)) return;
        const word = node.source;
        const bool = TRUTHY.test(word) ? "True" : "False";
        const literal = bool.toLowerCase();
        const parent = path[path.length - 1];
        const quote = { description: `quote "${word}"`, edits: [{ at: span(node), text: `"${word}"` }] };
        const asBool = { description: `write ${literal}`, edits: [{ at: span(node), text: literal }] };
        if (key === "key") {
          report(
            node,
            `PyYAML reads the key \`${word}\` as the boolean ${bool}, so looking it up as "${word}" fails with KeyError. Quote it ("${word}").`,
            quote,
          );
          return;
        }
        if (isSeq(parent)) {
          // A list of words (language codes, choices) that happens to contain one: clearly text.
          const siblings = parent.items.filter((i) => i !== node);
          const words =
            siblings.length > 0 &&
            siblings.every((i) => isScalar(i) && typeof i.value === "string" && !YAML11_WORDS.test(i.value));
          report(
            node,
            words
              ? `PyYAML turns \`${word}\` into the boolean ${bool}, while the rest of this list are strings. Quote it ("${word}").`
              : `PyYAML turns the unquoted \`${word}\` in this list into the boolean ${bool}. Quote it ("${word}") if it is text, or write \`${literal}\` if you mean a boolean.`,
            words ? quote : undefined,
          );
          return;
        }
        const k = isPair(parent) && isScalar(parent.key) ? String(parent.key.value) : "";
        if (FLAG_KEY.test(k)) {
          // The boolean is meant; the spelling is what misleads (YAML 1.2 tools read a string).
          report(
            node,
            `PyYAML reads \`${word}\` as the boolean ${bool}, but YAML 1.2 parsers (ruamel.yaml, most non-Python tools) read the string "${word}". ` +
              `Write \`${literal}\` so every reader gets the boolean.`,
            asBool,
          );
          return;
        }
        report(
          node,
          `PyYAML reads \`${word}\` as the boolean ${bool}, not the string "${word}" (YAML 1.2 parsers such as ruamel.yaml keep the string). ` +
            `Quote it ("${word}") if it is text, or write \`${literal}\` if you mean a boolean.`,
          // Under a key that names text (`mode`, `country`) the string is what was meant.
          TEXT_KEY.test(k) ? quote : undefined,
        );
      },
    });
  }
});

function span(node: Scalar): { start: number; end: number } {
  const [start, end] = node.range!;
  return { start, end };
}
