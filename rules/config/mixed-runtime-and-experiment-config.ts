import type { Node } from "web-tree-sitter";
import { isMap, isPair, isScalar, visit, type YAMLMap } from "yaml";
import { isTestPath, stringValue } from "../../src/engine/python/helpers.js";
import { type CheckContext, defineCheck, onTriggerLine } from "../../src/engine/rule.js";
import { readByOtherTool } from "../pyyaml/_lib.js";

// Where and how the job runs: machines, processes, paths, services.
const RUNTIME =
  /^(device|devices|gpus?|num_gpus|n_gpus|gpu_ids?|accelerator|strategy|num_nodes|world_size|local_rank|dist_backend|num_workers|n_workers|workers|pin_memory|prefetch_factor|tracking_uri|mlflow_uri|host|port|\w+_(dir|path|root|folder))$/i;
// What is being trained and how: the values that decide the result.
const HYPERPARAMETER =
  /^(lr|learning_rate|base_lr|max_lr|min_lr|batch_size|train_batch_size|epochs|num_epochs|n_epochs|max_epochs|max_steps|weight_decay|dropout|momentum|warmup_steps|warmup_epochs|warmup_ratio|hidden_size|hidden_dim|num_layers|n_layers|num_heads|n_heads|embed_dim|d_model|optimizer|scheduler|label_smoothing|grad_clip|gradient_clip_val|clip_grad_norm|accumulate_grad_batches|gradient_accumulation_steps|temperature)$/i;
// Sections that mirror one constructor's signature (Lightning's Trainer, a Hydra `_target_`).
const SIGNATURE_SECTION = /^(trainer|pl_trainer|lightning_trainer)$/i;
const PY_CONFIG_NAME =
  /^(config|cfg|conf|params|hparams|hyperparams|hyperparameters|settings|defaults?|\w+_(config|cfg|conf|params|settings))$/i;

const CONFIG_CLASS = /(Config|Cfg|Conf|Settings|Params|Hparams|HParams|Args|Arguments)$/;
// A plain class used as a namespace of settings (Kaggle's `class CFG:` with class attributes only).
const NAMESPACE_CLASS = /^(CFG|CONFIG|Cfg|Config|\w*Config|\w*CFG)$/;

interface Key {
  name: string;
  line: number;
}

function mixed(keys: Key[]): { runtime: Key[]; hparams: Key[] } | undefined {
  const runtime = keys.filter((k) => RUNTIME.test(k.name));
  const hparams = keys.filter((k) => HYPERPARAMETER.test(k.name));
  if (runtime.length === 0 || hparams.length < 2 || runtime.length + hparams.length < 4) return undefined;
  return { runtime, hparams };
}

function report(ctx: CheckContext, keys: Key[]): void {
  const found = mixed(keys);
  if (!found) return;
  // The runtime key is the one out of place among the experiment's settings.
  const at = found.runtime.find((k) => ctx.isAdded(k.line) && onTriggerLine(ctx, k.line));
  if (!at) return;
  const names = (list: Key[]) =>
    list
      .slice(0, 3)
      .map((k) => `\`${k.name}\``)
      .join(", ");
  ctx.report(
    { line: at.line },
    {
      message:
        `Runtime settings (${names(found.runtime)}) sit at the same level as hyperparameters (${names(found.hparams)}). ` +
        "Infrastructure changes from machine to machine while hyperparameters decide the result, so mixing them makes " +
        "every logged config differ for reasons that do not matter, and a copied config drags one machine's paths and " +
        "devices along. Put them in separate sections (`runtime:` / `train:`) or files, and log the experiment part as " +
        "the run's parameters.",
    },
  );
}

function checkYaml(ctx: CheckContext): void {
  const p = ctx.path.toLowerCase();
  // Files written by the tools at run time (Lightning, MLflow, W&B, Hydra, Ultralytics), not authored configs.
  if (
    /(^|\/)(lightning_logs|mlruns|mlartifacts|wandb|outputs|multirun|runs|\.hydra)\//.test(p) ||
    // Lightning's loggers write `<save_dir>/<name>/version_<n>/hparams.yaml`; an authored
    // `configs/hparams.yaml` is checked like any other config.
    /(^|\/)version_[^/]*\/hparams\.yaml$/.test(p)
  )
    return;
  const docs = ctx.yaml.docs;
  if (readByOtherTool(ctx.path, docs)) return;
  for (const doc of docs) {
    visit(doc, {
      Map(_key, node, path) {
        const parent = path[path.length - 1];
        const parentKey = isPair(parent) && isScalar(parent.key) ? String(parent.key.value) : undefined;
        if (parentKey && SIGNATURE_SECTION.test(parentKey)) return;
        const map = node as YAMLMap;
        const keys: Key[] = [];
        for (const item of map.items) {
          if (!isPair(item) || !isScalar(item.key) || !item.key.range) continue;
          const name = String(item.key.value);
          if (name === "_target_") return;
          // A key holding a mapping is a section (`optimizer: {name: adamw, lr: ...}`), not a value.
          if (isMap(item.value)) continue;
          keys.push({ name, line: ctx.yaml.position(item.key.range[0]).line });
        }
        report(ctx, keys);
      },
    });
  }
}

function dictKeys(value: Node): Key[] {
  const out: Key[] = [];
  if (value.type === "dictionary") {
    for (const pair of value.namedChildren) {
      if (pair?.type !== "pair") continue;
      const k = pair.childForFieldName("key");
      const name = stringValue(k);
      if (pair.childForFieldName("value")?.type === "dictionary") continue;
      if (k && name) out.push({ name, line: k.startPosition.row + 1 });
    }
  } else if (value.type === "call" && value.childForFieldName("function")?.text === "dict") {
    for (const arg of value.childForFieldName("arguments")?.namedChildren ?? []) {
      const k = arg?.type === "keyword_argument" ? arg.childForFieldName("name") : null;
      if (k) out.push({ name: k.text, line: k.startPosition.row + 1 });
    }
  }
  return out;
}

/** Config classes: dataclasses, attrs classes and Pydantic models named like a config. */
function configClassFields(ctx: CheckContext): Key[][] {
  const { py } = ctx;
  const out: Key[][] = [];
  for (const cls of py.classes) {
    if (!CONFIG_CLASS.test(cls.name) && !NAMESPACE_CLASS.test(cls.name)) continue;
    const namespace =
      NAMESPACE_CLASS.test(cls.name) && cls.bases.every((b) => b === "object") && cls.methods.length === 0;
    const declared =
      namespace ||
      cls.decorators.some((d) =>
        /^(dataclasses\.dataclass|dataclass|attr\.s|attrs\.define|attr\.define)$/.test(d),
      ) ||
      cls.bases.some((b) => /^pydantic(_settings)?\.(BaseModel|BaseSettings)$/.test(b));
    if (!declared) continue;
    const body = cls.body;
    const fields = py
      .assignmentsIn(body)
      .filter((a) => a.node.parent?.parent?.id === body.id && a.targets.length === 1)
      .map((a) => ({ name: a.targets[0], line: a.line }));
    out.push(fields);
  }
  return out;
}

function checkPython(ctx: CheckContext): void {
  if (isTestPath(ctx.path)) return;
  for (const a of ctx.py.assignments) {
    if (a.op !== "=" || a.targets.length !== 1 || !a.value || !PY_CONFIG_NAME.test(a.targets[0])) continue;
    report(ctx, dictKeys(a.value));
  }
  for (const fields of configClassFields(ctx)) report(ctx, fields);
}

export default defineCheck((ctx) => {
  if (ctx.kind === "yaml") checkYaml(ctx);
  else if (ctx.kind === "python") checkPython(ctx);
});
