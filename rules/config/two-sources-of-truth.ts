import { namesIn } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { cliOptions, configKeys, configNames } from "./_lib.js";

// Where and how the job runs (machines, workers, paths, services), not what is trained: a CLI
// default for these is a deployment choice, not a competing hyperparameter.
const RUNTIME =
  /^(device|devices|gpus?|num_gpus|n_gpus|gpu_ids?|accelerator|num_nodes|world_size|local_rank|num_workers|n_workers|workers|pin_memory|tracking_uri|mlflow_uri|host|port|log_level|verbose|debug|\w+_(dir|path|root|folder|file))$/i;

export default defineCheck((ctx) => {
  const { py } = ctx;
  const names = configNames(py);
  if (names.length === 0) return;
  // `parser.set_defaults(**cfg)`: the config supplies the CLI's defaults, one source.
  if (py.methodCalls("set_defaults").some((c) => c.hasSplat)) return;
  const keys = configKeys(ctx.text, names);
  if (keys.size === 0) return;
  const configVars = new Set(names.map((n) => n.name.split(".").pop()!));
  for (const opt of cliOptions(py)) {
    if (!opt.default || RUNTIME.test(opt.key)) continue;
    const line = keys.get(opt.key);
    if (line === undefined) continue;
    // `default=cfg["lr"]` takes the default from the config itself.
    if ([...namesIn(opt.default)].some((n) => configVars.has(n))) continue;
    const shown = opt.default.text.length <= 24 ? ` (\`${opt.default.text}\`)` : "";
    ctx.report(opt.node, {
      message:
        `\`${opt.flag}\` has its own default${shown} and \`${opt.key}\` is also read from the config file (line ${line}): ` +
        "two sources of truth that drift apart silently. Whichever one the code applies wins without a trace, so a run " +
        "can use a value nobody wrote in its config. Default the option to `None` and apply it over the config only " +
        `when given (\`if args.${opt.key} is not None: cfg["${opt.key}"] = args.${opt.key}\`), and log the resolved config.`,
    });
  }
});
