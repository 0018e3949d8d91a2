import { stringValue } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { cliParams, commands } from "./_lib.js";

// Past 80 characters a help text no longer fits the `--help` column beside the flag names.
const MAX_HELP = 80;
// Words that carry no information of their own in a parameter's help text.
const FILLER = new Set(
  "the a an of to for in on at by with from use used this that which value values option flag parameter param argument arg set sets specify specifies given number amount cli is be will train training whether enable enables disable disables mode".split(
    " ",
  ),
);
// Abbreviations in parameter names and the words a help text spells them with.
const EXPANSIONS: Record<string, string[]> = {
  num: ["number"],
  n: ["number"],
  lr: ["learning", "rate"],
  bs: ["batch", "size"],
  wd: ["weight", "decay"],
  dir: ["directory", "folder"],
  cfg: ["config", "configuration"],
  conf: ["config", "configuration"],
  config: ["configuration"],
  ckpt: ["checkpoint"],
  max: ["maximum"],
  min: ["minimum"],
  dim: ["dimension"],
  len: ["length"],
  eps: ["epsilon"],
  out: ["output"],
  src: ["source"],
  dst: ["destination"],
  img: ["image"],
  seq: ["sequence"],
  id: ["identifier"],
};

function words(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .map((w) => (w.length > 3 && w.endsWith("s") ? w.slice(0, -1) : w));
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  // A module-level `typer.Option(...)` shared by several commands is reported once.
  const seen = new Set<number>();
  for (const cmd of commands(py)) {
    for (const p of cliParams(py, cmd.fn)) {
      const helpNode = p.info?.keywords.get("help");
      const help = stringValue(helpNode);
      if (!helpNode || help === undefined || !help.trim() || seen.has(helpNode.startIndex)) continue;
      seen.add(helpNode.startIndex);
      const target = helpNode.parent ?? helpNode;
      // How `--help` names it: the first long flag declared, the derived `--name`, or an argument's metavar.
      const declared = p.info?.args.map((a) => stringValue(a) ?? "").find((d) => d.startsWith("--"));
      const flag = p.info?.is("typer.Argument")
        ? p.param.name.toUpperCase()
        : (declared?.split("/")[0] ?? `--${p.param.name.replace(/_/g, "-")}`);
      if (help.length > MAX_HELP) {
        ctx.report(target, {
          message:
            `The help for \`${flag}\` runs to ${help.length} characters, which wraps badly in \`--help\` and buries the other options. ` +
            "Keep per-parameter help to a short phrase (what the name does not say: unit, range, format) and move the explanation to the command's docstring.",
        });
        continue;
      }
      const known = new Set<string>();
      // The names `--help` shows: the declared flags, or the parameter's own name when none is declared.
      const flags = p.info?.args.map((a) => stringValue(a) ?? "").filter((d) => d.startsWith("-")) ?? [];
      const decls = declared && !p.info?.is("typer.Argument") ? flags : [p.param.name, ...flags];
      for (const w of decls.flatMap(words)) {
        known.add(w);
        for (const e of EXPANSIONS[w] ?? []) known.add(e);
      }
      // Help written in another script: its words cannot be compared with the flag's.
      if (/[^\u0000-\u024f]/.test(help)) continue;
      const said = words(help).filter((w) => !FILLER.has(w));
      if (said.length === 0 || !said.every((w) => known.has(w))) continue;
      ctx.report(target, {
        message:
          `\`help="${help}"\` only repeats what \`${flag}\` already says. ` +
          "Drop it, or say what the name does not: the unit, the allowed range or format, or where the default comes from.",
      });
    }
  }
});
