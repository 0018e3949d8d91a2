import { defineCheck } from "../../src/engine/rule.js";
import { plainScalars, readByOtherTool, readWithPatchedFloats } from "./_lib.js";

// Keys whose values are identifiers, not quantities.
const IDENTIFIER_KEY =
  /(?:^|_|-)(?:sha|sha1|sha256|hash|commit|revision|rev|id|uuid|digest|checksum|md5|version|tag|ref|code)$/i;
// A number written with an exponent, in any of the spellings people use.
const EXPONENT_NUMBER = /^([-+]?)(?:([0-9][0-9_]*)(?:\.([0-9_]*))?|\.([0-9][0-9_]*))([eE])([-+]?)([0-9]+)$/;
// PyYAML's own float resolver (YAML 1.1): a dot is required, and the exponent needs a sign.
const PYYAML_FLOAT = /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?)$/;

function why(frac: string | undefined, leadingFrac: string | undefined, expSign: string): string {
  const noDot = frac === undefined && leadingFrac === undefined;
  if (noDot && !expSign) return "this one has neither";
  if (noDot) return "this one has no dot";
  if (!expSign) return "this exponent has no sign";
  // `-.5e-3`: the pattern for numbers starting with a dot allows no sign in front.
  return "a number starting with a dot cannot be signed";
}

/** For whole numbers such as `1e6` (step counts, sizes), the integer spelling, which loads as an int. */
function asInteger(text: string, fixed: string): string {
  const value = Number(text.replace(/_/g, ""));
  if (!Number.isInteger(value) || Math.abs(value) < 10 || Math.abs(value) > 1e15) return "";
  return `, or \`${value}\` if it is a count (\`${fixed}\` loads as a float, which \`range()\` rejects)`;
}

export default defineCheck((ctx) => {
  const { yaml } = ctx;
  // A file PyYAML cannot parse (broken, or a Jinja template) fails before any value is read.
  if (!/[0-9.][eE][-+]?[0-9]/.test(ctx.text) || yaml.errors.length > 0) return;
  if (readByOtherTool(ctx.path, yaml.docs) || readWithPatchedFloats(ctx.text, ctx.project.manifests)) return;
  // One finding per line (`values: [1e-4, 3e-4]`), fixing every value on it.
  const byLine = new Map<
    number,
    {
      span: ReturnType<typeof yaml.spanOf>;
      message: string;
      texts: string[];
      edits: { at: { start: number; end: number }; text: string }[];
    }
  >();
  for (const { node, isKey, key } of plainScalars(yaml.docs)) {
    if (isKey || typeof node.source !== "string") continue;
    // `commit: 4e51234` is a hash or an id that happens to be all digits around an `e`: a string is right.
    if (key && IDENTIFIER_KEY.test(key)) continue;
    const text = node.source;
    const m = EXPONENT_NUMBER.exec(text);
    if (!m || PYYAML_FLOAT.test(text)) continue;
    const [, sign, int, frac, leadingFrac, e, expSign, digits] = m;
    const mantissa = leadingFrac !== undefined ? `0.${leadingFrac}` : `${int}.${frac ?? "0"}`;
    const fixed = `${sign}${mantissa}${e}${expSign || "+"}${digits}`;
    const span = yaml.spanOf(node);
    const [start, end] = node.range!;
    const edit = { at: { start, end }, text: fixed };
    const seen = byLine.get(span.line);
    if (seen) {
      seen.texts.push(fixed);
      seen.edits.push(edit);
      continue;
    }
    byLine.set(span.line, {
      span,
      message:
        `PyYAML loads \`${text}\` as the string "${text}", not a float: its YAML 1.1 float pattern needs a dot in ` +
        `the mantissa and a sign on the exponent, and ${why(frac, leadingFrac, expSign)}. ` +
        `Write \`${fixed}\` (or a plain decimal) so the value arrives as a number${asInteger(text, fixed)}.`,
      texts: [fixed],
      edits: [edit],
    });
  }
  for (const { span, message, texts, edits } of byLine.values()) {
    const more = texts.length > 1 ? ` The other exponent numbers on this line need the same change.` : "";
    ctx.report(span, {
      message: message + more,
      fix: { description: `write ${texts.join(", ")}`, edits },
    });
  }
});
