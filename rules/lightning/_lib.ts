import type { Node } from "web-tree-sitter";
import { lightningModules, localAncestry, localDescendants } from "../../src/engine/python/frameworks.js";
import type { ClassDef, PythonModel } from "../../src/engine/python/model.js";

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
