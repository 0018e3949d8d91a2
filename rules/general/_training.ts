import type { Node } from "web-tree-sitter";
import { isEntryPoint } from "../../src/engine/python/entrypoint.js";
import { constructorOf } from "../../src/engine/python/flow.js";
import { isTestPath, namesIn } from "../../src/engine/python/helpers.js";
import type { CallSite, Loop, PythonModel } from "../../src/engine/python/model.js";
import type { CheckContext } from "../../src/engine/rule.js";
import { firstReportable, IMBALANCE_KEYWORDS, type TrainingSite, trainingSites } from "./_lib.js";

// Shared pieces of the `general` metrics and training-loop rules (not a rule: no YAML beside it).
// The "absence" rules (no validation, no checkpoint, no early stopping, no tracker) judge a whole
// run, so they only look at files people execute and report once, on the first changed site.

export interface TrainingRun {
  site: TrainingSite;
  /** The `Trainer(...)` call a Lightning / Hugging Face run was built from, when visible. */
  trainer?: CallSite;
}

// Once-per-file findings land on the first added trigger line, import aliases read as the engine does.
export { firstReportable };

/** A file in a documentation or examples folder (`examples/`, `tutorials/`, `guides/`, `docs/`, `demos/`). */
export function isExamplePath(path: string): boolean {
  return /(^|\/)(examples?|tutorials?|guides?|docs?|demos?)\//i.test(path);
}

/** The training runs of a file that is run (script, CLI, top-level training); none for library modules and tests. */
export function trainingRuns(ctx: CheckContext): TrainingRun[] {
  const { py } = ctx;
  const sites = trainingSites(py);
  if (sites.length === 0 || !isEntryPoint(py, ctx.path)) return [];
  return sites.map((site) => ({
    site,
    trainer: site.kind === "lightning" || site.kind === "hf" ? receiverCall(py, site.call!) : undefined,
  }));
}

// Calls that report a value each epoch: `print(...)`, `logger.info(...)`, `writer.add_scalar(...)`, `pbar.set_postfix(...)`.
const REPORTS =
  /^(print|log|log_metric|log_metrics|add_scalar|add_scalars|info|debug|set_postfix|set_description|write|echo)$/;

/**
 * The training runs inside the functions of a library module (no entry point, not a test): a
 * `train(model, loader, epochs)` helper or a Keras `fit` wrapped in one. An estimator's own `fit`
 * method (scikit-learn style) is left out: its caller decides how it is validated and stopped.
 */
export function libraryTrainingRuns(ctx: CheckContext): TrainingRun[] {
  const { py } = ctx;
  if (isTestPath(ctx.path) || isEntryPoint(py, ctx.path)) return [];
  return trainingSites(py)
    .filter((site) => {
      const fn = py.functionAt(site.at);
      return fn !== undefined && !/^_?(partial_)?fit$/.test(fn.name);
    })
    .map((site) => ({
      site,
      trainer: site.kind === "lightning" || site.kind === "hf" ? receiverCall(py, site.call!) : undefined,
    }));
}

/**
 * Training runs of a library module (no entry point) that report a training loss or accuracy every
 * epoch: an epoch loop that prints or logs it, a Keras or Lightning `fit`. A `train(model, loader,
 * epochs)` helper is a whole training run even when another file runs it.
 */
export function reportingTrainingLoops(ctx: CheckContext): TrainingRun[] {
  const { py } = ctx;
  const reports = (loop: Loop): boolean => {
    // Names holding the loss or accuracy in the loop: `total += loss.item()`, `acc = correct / n`.
    const held = new Set(
      py.assignments
        .filter((a) => loop.body.startIndex <= a.start && a.end <= loop.body.endIndex)
        .filter((a) => /loss|acc/i.test(`${a.targets.join(" ")} ${a.value?.text ?? ""}`))
        .flatMap((a) => a.targets),
    );
    return py.callsIn(loop.body).some((c) => {
      if (c.method === undefined || !REPORTS.test(c.method)) return false;
      return /loss|acc/i.test(c.argsNode.text) || [...namesIn(c.argsNode)].some((n) => held.has(n));
    });
  };
  return libraryTrainingRuns(ctx).filter((run) => {
    const { kind, loop } = run.site;
    // Keras `fit` and Lightning print or log the training loss every epoch themselves.
    if (kind === "keras" || kind === "lightning") return true;
    return kind === "loop" && loop !== undefined && reports(loop);
  });
}

/** The call that built a method call's receiver: `Trainer(...)` for `trainer.fit(...)` or `Trainer(...).fit(...)`. */
function receiverCall(py: PythonModel, call: CallSite): CallSite | undefined {
  let recv: Node | undefined = call.receiver;
  if (recv && (recv.type === "identifier" || recv.type === "attribute")) {
    const a = py.lastAssignment(recv.text.replace(/\s+/g, ""), call);
    recv = a?.op === "=" && a.targets.length === 1 ? a.value : undefined;
  }
  if (recv?.type !== "call") return undefined;
  const start = recv.startIndex;
  return py.calls.find((c) => c.start === start);
}

/**
 * Reports once per file: on the first run whose line (the `for epoch` / `.fit(` line, or the
 * `Trainer(` line) was added and matches a trigger.
 */
export function reportRun(
  ctx: CheckContext,
  runs: TrainingRun[],
  message: (run: TrainingRun) => string,
): void {
  const candidates: { line: number; run: TrainingRun }[] = [];
  for (const run of runs) {
    candidates.push({ line: run.site.at.line, run });
    // A Hugging Face run is set up on its `Trainer(...)` line, which rules waking on `Trainer(` report on.
    if (run.trainer && run.site.kind === "hf") candidates.push({ line: run.trainer.line, run });
  }
  candidates.sort((a, b) => a.line - b.line);
  const hit = firstReportable(ctx, candidates);
  if (hit) ctx.report({ line: hit.line }, { message: message(hit.run) });
}

// Reinforcement learning (PPO-style update epochs over rollouts) and GANs train without a
// validation loss to watch, so "no validation" and "no early stopping" do not apply to them.
const NO_VALIDATION_LOSS =
  /\b(gym|gymnasium|stable_baselines3?)\b|\brewards?\b|\badvantages?\b|\brollouts?\b|\benv\.step\s*\(|[Dd]iscriminator|\bnet[DG]\b/;

/** True for training without a held-out loss to monitor: reinforcement learning, GANs. */
export function withoutValidationLoss(text: string): boolean {
  return NO_VALIDATION_LOSS.test(text);
}

/** Lower-cased words of every identifier and string in the text: `valLoader` → val, loader; `x_test` → x, test. */
export function wordsOf(text: string): Set<string> {
  const out = new Set<string>();
  for (const token of text.match(/[A-Za-z][A-Za-z0-9]*/g) ?? []) {
    for (const part of token.replace(/([a-z0-9])([A-Z])/g, "$1 $2").split(" ")) out.add(part.toLowerCase());
  }
  return out;
}

// Words that name a held-out pass: a `val_loader`, an `evaluate(...)`, `X_test`, a `"val_loss"` key.
const HELD_OUT_WORDS = new Set([
  "val",
  "valid",
  "validation",
  "validate",
  "validating",
  "eval",
  "evaluate",
  "evaluation",
  "evaluator",
  "dev",
  "test",
  "testing",
  "holdout",
  "heldout",
]);
const HELD_OUT_COMPOUND = /^(val|valid|test|eval|dev)(loader|set|data|dl|ds|iter|loss|acc|x|y)$/;
// Identifiers that contain such a word without being about held-out data (`gradient_clip_val=0.5`).
const NOT_HELD_OUT = /\b(gradient_clip_val|clip_val|min_val|max_val)\b/g;

/** True when the text shows any held-out pass: a validation loader or split, `model.eval()`, `no_grad`, a `val_*` key. */
export function mentionsHeldOut(text: string): boolean {
  if (/\bno_grad\b|\binference_mode\b/.test(text)) return true;
  let plain = text.replace(NOT_HELD_OUT, " ");
  // `dev = torch.device("cuda")` names the device, not a dev split.
  if (/\bdev\s*=\s*(?:torch\.)?device\s*\(/.test(plain)) plain = plain.replace(/\bdev\b/g, " ");
  for (const w of wordsOf(plain)) if (HELD_OUT_WORDS.has(w) || HELD_OUT_COMPOUND.test(w)) return true;
  return false;
}

// Benchmarks whose classes are (close to) equally frequent, so accuracy alone is the usual,
// adequate report. `make_classification(weights=...)` makes imbalanced data and is left out.
const BALANCED_BENCHMARKS = [
  "sklearn.datasets.load_iris",
  "sklearn.datasets.load_digits",
  "sklearn.datasets.load_wine",
  "sklearn.datasets.make_classification",
  "sklearn.datasets.make_blobs",
  "sklearn.datasets.make_moons",
  "sklearn.datasets.make_circles",
  "keras.datasets.mnist.load_data",
  "keras.datasets.fashion_mnist.load_data",
  "keras.datasets.cifar10.load_data",
  "keras.datasets.cifar100.load_data",
  "keras.datasets.imdb.load_data",
  "torchvision.datasets.MNIST",
  "torchvision.datasets.FashionMNIST",
  "torchvision.datasets.KMNIST",
  "torchvision.datasets.CIFAR10",
  "torchvision.datasets.CIFAR100",
  "torchvision.datasets.STL10",
  "lightning.pytorch.demos.mnist_datamodule.MNIST",
];

// The author saying so: "a balanced binary classification task", "the classes are balanced".
const SAYS_BALANCED =
  /(?<![A-Za-z])balanced\s+(?:[a-z-]+\s+){0,2}(?:classification|dataset|data|classes|problem|task)\b|\b(?:classes|dataset|data|labels)\s+(?:are|is)\s+(?:roughly\s+|perfectly\s+|well[- ])?balanced\b/i;

// Hugging Face Hub datasets with equally frequent classes.
const BALANCED_HUB_DATASETS =
  /^["'](imdb|stanfordnlp\/imdb|rotten_tomatoes|yelp_polarity|amazon_polarity|ag_news|dbpedia_14|mnist|ylecun\/mnist|fashion_mnist|cifar10|uoft-cs\/cifar10|cifar100)["']$/;

/**
 * True when the file trains on a class-balanced benchmark (iris, digits, MNIST, CIFAR, IMDB,
 * AG News), or says in a comment or docstring that its classes are balanced.
 */
export function balancedBenchmark(py: PythonModel, text = ""): boolean {
  if (SAYS_BALANCED.test(text)) return true;
  return py.calls.some(
    (c) =>
      (c.is("datasets.load_dataset") && BALANCED_HUB_DATASETS.test(c.args[0]?.text ?? "")) ||
      (c.is(...BALANCED_BENCHMARKS) &&
        !(c.is("sklearn.datasets.make_classification") && c.keywords.has("weights"))),
  );
}

// A name or column that holds the labels: `y`, `y_train`, `labels`, `df["target"]`, `df.label`.
const LABEL_NAME = /^(y|y_\w+|\w+_y|labels?|targets?|class(es)?|outcome)$|(^|_)(label|labels|target|class)$/i;
const LABEL_VAR = /^(y|y_\w+|\w+_y|labels?|targets?)$/;
const CLASS_COUNTS = ["numpy.bincount", "torch.bincount", "collections.Counter", "pandas.value_counts"];
// Losses whose `weight=` is a per-class weight vector.
const CLASS_WEIGHTED_LOSSES = [
  "torch.nn.CrossEntropyLoss",
  "torch.nn.NLLLoss",
  "torch.nn.functional.cross_entropy",
  "torch.nn.functional.nll_loss",
];

/** Columns the labels are taken from: `Outcome` in `y = df["Outcome"]`. */
function labelColumns(py: PythonModel): Set<string> {
  const out = new Set<string>();
  for (const a of py.assignments) {
    if (a.op !== "=" || a.targets.length !== 1 || !LABEL_VAR.test(a.targets[0]!)) continue;
    const key = /\[\s*\[?\s*["']([^"']+)["']\s*\]?\s*\]$/.exec(a.value?.text ?? "")?.[1];
    if (key) out.add(key);
  }
  return out;
}

/** The last name in an expression: `target` in `df["target"]`, `df.target` or `target`. */
function lastName(node: Node | undefined): string | undefined {
  const text = node?.text.replace(/\s+/g, "") ?? "";
  const m = /(?:\[\[?["']([^"']+)["']\]?\]|\.(\w+)|^(\w+))$/.exec(text);
  return m?.[1] ?? m?.[2] ?? m?.[3];
}

/**
 * Evidence in the file that the classes are imbalanced (or known to be): class weights, a
 * stratified split, resampling, a weighted sampler, or the class counts looked at (`value_counts()`
 * on the labels, `np.bincount(y)`). Counts of a feature column (`df["city"].value_counts()`) are
 * exploration, not a sign of imbalance.
 */
export function classImbalanceShown(py: PythonModel): boolean {
  let columns: Set<string> | undefined;
  const isLabels = (node: Node | undefined) => {
    const name = lastName(node);
    if (!name) return false;
    if (LABEL_NAME.test(name)) return true;
    columns ??= labelColumns(py);
    return columns.has(name);
  };
  for (const c of py.calls) {
    for (const k of c.keywords.keys()) if (IMBALANCE_KEYWORDS.has(k)) return true;
    if (c.method === "compute_class_weight" || c.method === "compute_sample_weight") return true;
    if (c.is("torch.utils.data.WeightedRandomSampler", "imblearn.**")) return true;
    if ((c.method === "value_counts" || c.method === "bincount") && c.receiver && isLabels(c.receiver))
      return true;
    if (c.is(...CLASS_COUNTS) && isLabels(c.args[0])) return true;
    if (c.keywords.has("weight") && c.is(...CLASS_WEIGHTED_LOSSES)) return true;
  }
  return py.importsModule("imblearn");
}

/**
 * The class of the estimator a name holds, also when it was fitted on the spot:
 * `clf = LogisticRegression().fit(X, y)` (scikit-learn's `fit` returns the estimator).
 */
export function estimatorClassOf(py: PythonModel, node: Node | undefined, at: CallSite): string | undefined {
  const direct = constructorOf(py, node, at);
  if (direct && !/\.fit$/.test(direct)) return direct;
  let value: Node | null | undefined = node;
  if (node?.type === "identifier" || node?.type === "attribute") {
    const a = py.lastAssignment(node.text.replace(/\s+/g, ""), at);
    value = a?.op === "=" && a.targets.length === 1 ? a.value : undefined;
  }
  const fn = value?.type === "call" ? value.childForFieldName("function") : undefined;
  const inner =
    fn?.type === "attribute" && fn.childForFieldName("attribute")?.text === "fit"
      ? fn.childForFieldName("object")
      : undefined;
  const ctor = inner?.type === "call" ? inner.childForFieldName("function") : undefined;
  return ctor ? py.resolve(ctor) : undefined;
}

/** True when some call's method or resolved name matches. */
export function callMatching(py: PythonModel, re: RegExp): CallSite | undefined {
  return py.calls.find((c) => (c.method !== undefined && re.test(c.method)) || (c.name && re.test(c.name)));
}

/**
 * The callbacks a `fit`/`Trainer` call is given, as the calls that construct them, or undefined
 * when they cannot all be seen (a helper builds the list, `**kwargs`, an element of unknown origin).
 */
export function visibleCallbacks(py: PythonModel, call: CallSite): string[] | undefined {
  if (call.hasSplat) return undefined;
  let value = call.keywords.get("callbacks");
  if (!value) return [];
  if (value.type === "identifier") {
    const a = py.lastAssignment(value.text, call);
    if (a?.op !== "=" || a.targets.length !== 1) return undefined;
    value = a.value;
    // `callbacks.append(...)` after the list is built adds what we cannot list here.
    if (py.calls.some((c) => c.method === "append" && c.receiver?.text === a.targets[0] && c.start > a.end))
      return undefined;
  }
  if (!value || (value.type !== "list" && value.type !== "tuple")) return undefined;
  const out: string[] = [];
  for (const item of value.namedChildren) {
    if (!item || item.type === "comment") continue;
    let ctor: Node | undefined = item;
    if (item.type === "identifier") {
      const a = py.lastAssignment(item.text, call);
      ctor = a?.op === "=" && a.targets.length === 1 ? a.value : undefined;
    }
    if (ctor?.type !== "call") return undefined;
    const fn = ctor.childForFieldName("function");
    const name = fn ? py.resolve(fn) : undefined;
    const root = name?.split(".")[0];
    if (!name || !fn || !py.imports.has(fn.text.split(".")[0]!) || !root) return undefined;
    out.push(name);
  }
  return out;
}
