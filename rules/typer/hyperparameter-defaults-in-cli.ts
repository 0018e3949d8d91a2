import { literal } from "../../src/engine/python/helpers.js";
import type { FunctionDef, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { type CliParam, cliParams, commands } from "./_lib.js";

// Training hyperparameters by their usual names; run settings (seed, workers, paths) are not.
const TRAINING =
  /^(?:lr|(?:base|max|min|init|peak|head|backbone)_lr|learning_rate|(?:num|n|max)_epochs|epochs|dropout(?:_rate|_prob|_p)?|drop_rate|attn_dropout|weight_decay|wd|momentum|warmup(?:_steps|_epochs|_ratio|_iters)?|label_smoothing|(?:max_)?grad(?:ient)?_(?:clip(?:_val|_norm)?|norm)|clip_grad(?:_norm)?|accumulate_grad_batches|grad(?:ient)?_accum(?:ulation)?_steps|beta[12]|adam_(?:beta[12]|eps)|lr_decay|lr_gamma)$/i;
// Hyperparameters too when training, but also plain settings of an inference or export command.
const SHARED =
  /^(?:(?:train_|eval_|per_device_train_|micro_)?batch_size|bs|hidden_(?:size|dim)|(?:num|n)_(?:layers|heads|blocks)|embed(?:ding)?_dim|d_model|n_estimators|max_depth|step_size|patience)$/i;
const TRAINING_COMMAND = /train|fit|tune|sweep|search|experiment|optimi[sz]e/i;

// Calls that show a command trains: `train(...)`, `trainer.fit(...)`, `loss.backward()`, an optimizer.
const TRAINING_CALL =
  /^(?!train_test_split$)(?:train(?:_\w+)?|\w+_train|fit|fit_model|backward|run_training)$/;

function trainsInBody(py: PythonModel, fn: FunctionDef): boolean {
  return py
    .callsIn(fn.body)
    .some(
      (c) =>
        TRAINING_CALL.test(c.method ?? c.name ?? "") ||
        (c.imported &&
          c.is("torch.optim.*", "keras.optimizers.*", "lightning.pytorch.Trainer", "transformers.Trainer")),
    );
}

function literalDefault(p: CliParam): string | undefined {
  const lit = literal(p.default);
  if (lit?.kind === "num") return lit.text;
  return undefined;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  for (const cmd of commands(py)) {
    const params = cliParams(py, cmd.fn).filter((p) => literalDefault(p));
    const training =
      params.some((p) => TRAINING.test(p.param.name)) ||
      TRAINING_COMMAND.test(cmd.fn.name) ||
      trainsInBody(py, cmd.fn);
    if (!training) continue;
    const hits = params.filter((p) => TRAINING.test(p.param.name) || SHARED.test(p.param.name));
    if (hits.length === 0) continue;
    // One finding per parameter line: each default is its own thing to move into the config.
    const lines = new Set<number>();
    for (const hit of hits) {
      const line = hit.param.node.startPosition.row + 1;
      if (!ctx.isAdded(line) || lines.has(line)) continue;
      lines.add(line);
      const sameLine = hits.filter((p) => p.param.node.startPosition.row + 1 === line);
      const list = sameLine.map((p) => `\`${p.param.name}=${literalDefault(p)}\``).join(", ");
      const others = hits.length - sameLine.length;
      const more =
        others > 0 ? `, like ${others} other parameter${others > 1 ? "s" : ""} of this command` : "";
      ctx.report(hit.param.node, {
        message:
          `\`${cmd.fn.name}\` bakes ${sameLine.length > 1 ? "training hyperparameter defaults" : "a training hyperparameter default"} into its CLI (${list}${more}). ` +
          (sameLine.length > 1
            ? "A run started without the flags silently uses these values, which then live in the code instead of in the experiment's config. " +
              "Keep the values in a config file the command loads, default the options to `None`, and let a flag override the config only when it is given."
            : "A run started without the flag silently uses this value, which then lives in the code instead of in the experiment's config. " +
              "Keep the value in a config file the command loads, default the option to `None`, and let the flag override the config only when it is given."),
      });
    }
  }
});
