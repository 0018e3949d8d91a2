import type { Node } from "web-tree-sitter";
import { lightningModules, localAncestry, localDescendants } from "../../src/engine/python/frameworks.js";
import { literal } from "../../src/engine/python/helpers.js";
import type { ClassDef, Param, PythonModel } from "../../src/engine/python/model.js";

// Shared by the lightning checks: which modules turn automatic optimisation off or record their
// hyperparameters, what a "dataset" value looks like, and which Lightning version a project pins.

export { lightningModules };

/**
 * True when the module (or a local base) sets `self.automatic_optimization = False` or overrides it,
 * or (unless `flagOnly`) calls `self.manual_backward`.
 */
export function usesManualOptimization(py: PythonModel, cls: ClassDef, flagOnly = false): boolean {
  for (const c of localAncestry(py, cls)) {
    if (c.method("automatic_optimization")) return true;
    for (const a of py.assignmentsIn(c)) {
      if (a.targets.some((t) => t === "self.automatic_optimization" || t === "automatic_optimization"))
        return true;
    }
    if (!flagOnly && py.callsIn(c).some((call) => call.method === "manual_backward")) return true;
  }
  return false;
}

/** True when the class, a local base or a local subclass calls `save_hyperparameters` or fills `self.hparams`. */
export function savesHyperparameters(py: PythonModel, cls: ClassDef): boolean {
  const related = [...localAncestry(py, cls), ...localDescendants(py, cls)];
  return related.some((c) =>
    py
      .callsIn(c)
      .some(
        (call) =>
          call.method === "save_hyperparameters" ||
          (call.method === "update" && /^self\.hparams$/.test(call.receiver?.text ?? "")),
      ),
  );
}

/**
 * True when the module records its `__init__` arguments: `save_hyperparameters` or `self.hparams.update`
 * in the class, a local base or subclass, or (old code) `self.hparams` assigned in `__init__`.
 */
export function recordsHyperparameters(py: PythonModel, cls: ClassDef): boolean {
  if (savesHyperparameters(py, cls)) return true;
  const init = cls.method("__init__");
  return (
    init !== undefined &&
    py.assignmentsIn(init.body).some((a) => a.targets.some((t) => /^self\.hparams\b/.test(t)))
  );
}

/** More separate hyperparameter arguments than this and `config/module-init-many-hparams` asks for a config object. */
export const FLAT_HPARAMS_LIMIT = 6;

// Arguments that carry objects (sub-networks, losses, tokenizers) or a config, not hyperparameters.
const OBJECT_NAME =
  /^(model|net|network|backbone|encoder|decoder|head|module|loss|loss_fn|criterion|tokenizer|metrics?|vocab|data|dataset|datamodule|transforms?|config|cfg|conf|hparams|hp|args|params|callbacks?)$|_(fn|cls|class|model|net|module|factory|config|cfg)$/i;
const VALUE_TYPES = new Set([
  "int",
  "float",
  "bool",
  "str",
  "None",
  "Optional",
  "Union",
  "Literal",
  "List",
  "list",
  "Tuple",
  "tuple",
  "Sequence",
  "typing.Optional",
  "typing.Union",
  "typing.Literal",
  "typing.List",
  "typing.Tuple",
  "typing.Sequence",
  "...",
]);

/** True for annotations built only from plain value types (`float`, `Optional[int]`, `Literal["a", "b"]`). */
function isValueType(annotation: string): boolean {
  const tokens = annotation
    .split(/[[\],|]/)
    .map((t) => t.trim())
    .filter(Boolean);
  // Quoted text is a Literal's value, or else a forward reference to a class.
  const literalArgs = /\bLiteral\[/.test(annotation);
  return tokens.every(
    (t) => VALUE_TYPES.has(t) || (literalArgs && /^(["'].*["']|-?[\d.]+|True|False)$/.test(t)),
  );
}

function isFlatHyperparameter(p: Param): boolean {
  if (p.annotation) return isValueType(p.annotation.text);
  if (OBJECT_NAME.test(p.name)) return false;
  return !p.default || literal(p.default) !== undefined || p.default.type === "identifier";
}

/**
 * The hyperparameters a module's `__init__` takes one by one (plain value types, or untyped with
 * literal defaults), when there are more than `FLAT_HPARAMS_LIMIT` of them; otherwise undefined.
 * Files using `LightningCLI`, which builds its command line from the signature, have none.
 */
export function flatHyperparameters(text: string, cls: ClassDef): Param[] | undefined {
  if (/\bLightningCLI\b/.test(text)) return undefined;
  const init = cls.method("__init__");
  if (!init) return undefined;
  const hparams = init.explicitParams.filter((p) => isFlatHyperparameter(p));
  return hparams.length > FLAT_HPARAMS_LIMIT ? hparams : undefined;
}

// Calls whose result is a dataset, a DataFrame or a data array read from somewhere.
export const DATA_CONSTRUCTORS = [
  "pandas.read_*",
  "pandas.DataFrame",
  "polars.read_*",
  "polars.scan_*",
  "polars.DataFrame",
  "numpy.load",
  "numpy.loadtxt",
  "numpy.genfromtxt",
  "numpy.fromfile",
  "datasets.load_dataset",
  "datasets.load_from_disk",
  "datasets.Dataset.from_*",
  "torchvision.datasets.*",
  "torchaudio.datasets.*",
  "torchtext.datasets.*",
  "torch.utils.data.TensorDataset",
  "torch.utils.data.ConcatDataset",
  "torch.utils.data.Subset",
  "torch.utils.data.random_split",
  "sklearn.datasets.load_*",
  "sklearn.datasets.fetch_*",
];

const DATASET_BASES = [
  "torch.utils.data.Dataset",
  "torch.utils.data.IterableDataset",
  "torch.utils.data.dataset.Dataset",
];

/**
 * The constructor at the root of a chain such as `pd.read_csv(p).dropna()` or
 * `load_dataset("imdb")["train"]`: what the data was read with before it was reshaped.
 */
export function chainRoot(py: PythonModel, node: Node | undefined): string | undefined {
  let cur: Node | null | undefined = node;
  for (let hops = 0; cur && hops < 6; hops++) {
    if (cur.type === "subscript") {
      cur = cur.childForFieldName("value");
      continue;
    }
    if (cur.type !== "call") return undefined;
    const callee = cur.childForFieldName("function");
    const name = callee ? py.resolve(callee) : undefined;
    if (name) return name;
    cur = callee?.type === "attribute" ? callee.childForFieldName("object") : undefined;
  }
  return undefined;
}

/** Local classes that are torch datasets. */
export function localDatasetClasses(py: PythonModel): Set<string> {
  const names = new Set<string>();
  let changed = true;
  while (changed) {
    changed = false;
    for (const c of py.classes) {
      if (names.has(c.name)) continue;
      if (c.bases.some((b) => DATASET_BASES.includes(b) || names.has(b))) {
        names.add(c.name);
        changed = true;
      }
    }
  }
  return names;
}

/** Parameter names that say "this is a dataset or a frame": `dataset`, `train_ds`, `df`, `val_df`, `train_set`. */
export const DATASET_PARAM =
  /^(?:[a-z]+_)?(?:dataset|ds|df|dataframe)$|^(?:train|val|valid|test|eval)_?(?:data|set)$/i;

const DATA_ANNOTATIONS = [
  "torch.utils.data.Dataset",
  "torch.utils.data.IterableDataset",
  "torch.utils.data.dataset.Dataset",
  "pandas.DataFrame",
  "polars.DataFrame",
  "numpy.ndarray",
  "datasets.Dataset",
  "datasets.DatasetDict",
];

/** True when an annotation names a dataset, frame or array type. */
export function isDataAnnotation(py: PythonModel, annotation: Node | undefined): boolean {
  if (!annotation) return false;
  const text = annotation.text
    .replace(/^Optional\[(.*)\]$/, "$1")
    .replace(/^\s*None\s*\|\s*|\s*\|\s*None\s*$/g, "")
    .replace(/^["'](.*)["']$/, "$1");
  const name = py.resolve(text);
  return name !== undefined && DATA_ANNOTATIONS.includes(name);
}

/** `validation_step`-style hooks where Lightning logs per epoch by default. */
export const EVAL_STEP_HOOKS = new Set([
  "validation_step",
  "test_step",
  "on_validation_batch_end",
  "on_test_batch_end",
]);

const PINNED_V1 =
  /^\s*["']?(?:pytorch[-_]lightning|lightning)\s*(?:\[[^\]]*\])?\s*(?:(?:==|~=|<=?)\s*1\.|[^#\n]*<\s*2(?:\.0){0,2}\s*(?:["',;#]|$))/im;

/** True when a manifest pins Lightning below 2.0, where 1.x APIs and defaults still apply. */
export function pinnedBelow2(manifests: ReadonlyMap<string, string>): boolean {
  for (const text of manifests.values()) if (PINNED_V1.test(text)) return true;
  return false;
}
