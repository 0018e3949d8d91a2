import { literal } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { baseType, cliParams, commands } from "./_lib.js";

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

export default defineCheck((ctx) => {
  const { py } = ctx;
  // One finding per line: `def main(src_dir: str, out_dir: str)` is one signature to retype.
  const lines = new Set<number>();
  for (const cmd of commands(py)) {
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
      const line = p.param.node.startPosition.row + 1;
      if (lines.has(line)) continue;
      lines.add(line);
      const exists = p.info?.keywords.has("exists");
      ctx.report(p.param.node, {
        message:
          `\`${p.param.name}\` is a path typed \`str\`: Typer passes it through unchecked, so a wrong path only fails deep inside the run, ` +
          "and the code has to build paths by hand. Type it `pathlib.Path`" +
          (exists
            ? "; Typer applies `exists=True` and friends only to `Path` parameters."
            : ", adding `exists=True` (and `file_okay`/`dir_okay`) where it must already exist."),
      });
    }
  }
});
