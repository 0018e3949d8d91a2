import { literal } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { baseType, type CliParam, cliParams, commands } from "./_lib.js";

// Parameter names that mean a local filesystem path (`profile` is not one, `*_url` is remote).
const PATH_NAME =
  /(?:^|_)(?:path|paths|file|files|filename|filenames|fname|filepath|dir|dirs|directory|folder)$|^(?:out|log|save|work|input|output|data|ckpt|model|root|cache|src|dst|in)(?:dir|file|path)$|^(?:config|cfg|conf|config_file)$/i;
// Names glued together without an underscore: `exportdir`, `imagefile`, `weightspath` (not `profile`).
const GLUED_PATH_NAME = /^(?!pro(?:file|files)$)[a-z]+(?:dir|dirs|path|paths|file|files)$/i;
const STR_TYPE = /^(?:str|builtins\.str)$/;
const CONFIG_NAME = /^(?:config|cfg|conf)$/i;
const REMOTE = /^[a-z][\w+.-]*:\/\//i;

// Help that says the value is a path: `dataset: str = typer.Argument(..., help="Path to the dataset")`.
const PATH_HELP = /^\s*(?:the\s+)?(?:local\s+)?(?:path|directory|folder)\s+(?:to|of)\b/i;

/** `a`, `b` and `c`. */
function listOf(names: string[]): string {
  const quoted = names.map((n) => `\`${n}\``);
  return quoted.length === 1
    ? quoted[0]
    : `${quoted.slice(0, -1).join(", ")} and ${quoted[quoted.length - 1]}`;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  // One finding per command, on its first such parameter, naming them all: one signature to retype.
  for (const cmd of commands(py)) {
    const found: CliParam[] = [];
    for (const p of cliParams(py, cmd.fn)) {
      if (!STR_TYPE.test(baseType(p.type) ?? "")) continue;
      const helpText = literal(p.info?.keywords.get("help"));
      const saysPath = helpText?.kind === "str" && PATH_HELP.test(helpText.value);
      // `model_name_or_path` takes Hub ids as well as paths.
      const pathName = PATH_NAME.test(p.param.name) || GLUED_PATH_NAME.test(p.param.name);
      if (!(pathName || saysPath) || p.param.name.includes("_or_")) continue;
      // Remote locations (`s3://...`, `gs://...`, URLs) are rightly strings.
      const def = literal(p.default);
      if (def?.kind === "str" && REMOTE.test(def.value)) continue;
      // `config: str = "base"` names a preset, not a file.
      if (def?.kind === "str" && CONFIG_NAME.test(p.param.name) && !/[/\\.~]/.test(def.value)) continue;
      if (
        helpText?.kind === "str" &&
        /\b(url|uri|s3|gcs|gs:|hdfs|remote|hub|repo id|glob|pattern)\b/i.test(helpText.value)
      )
        continue;
      // In a diff, only the parameters the change adds.
      if (!ctx.isAdded(p.param.node.startPosition.row + 1)) continue;
      found.push(p);
    }
    if (found.length === 0) continue;
    const names = found.map((p) => p.param.name);
    const one = found.length === 1;
    const exists = found.some((p) => p.info?.keywords.has("exists"));
    ctx.report(found[0].param.node, {
      message:
        `${listOf(names)} ${one ? "is a path" : "are paths"} typed \`str\`: Typer passes ${one ? "it" : "them"} through unchecked, so a wrong path only fails deep inside the run, ` +
        `and the code has to build paths by hand. Type ${one ? "it" : "them"} \`pathlib.Path\`` +
        (exists
          ? "; Typer applies `exists=True` and friends only to `Path` parameters."
          : ", adding `exists=True` (and `file_okay`/`dir_okay`) where the path must already exist."),
    });
  }
});
