import { isEntryPoint } from "../../src/engine/python/entrypoint.js";
import { boolValue, literal, statementOf } from "../../src/engine/python/helpers.js";
import { type CallSite, type PythonModel, type Span, spanOf } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { Calls, kerasModelCall } from "../keras/_lib.js";
import { onTriggerLine, SEEDABLE_GENERATORS, seedingCalls, trainingSites } from "./_lib.js";

const TORCH_RANDOM =
  /^torch\.(rand|randn|randint|randperm|rand_like|randn_like|randint_like|normal|bernoulli|multinomial)$/;
const NOT_DRAWS =
  /^(numpy\.random\.(seed|get_state|set_state|SeedSequence|PCG64|MT19937|Philox|SFC64|BitGenerator)|random\.(seed|getstate|setstate|SystemRandom))$/;
// Randomness for ports, names, backoff and the like does not change what is learned.
// Whole words of a name only: `tokenized_datasets` and `report` are not a token or a port.
const INCIDENTAL =
  /(^|[^a-z])(port|name|uuid|token|secret|passw\w*|sleep|jitter|backoff|retry|retries|delay|colou?r)s?([^a-z]|$)/i;

const SPLIT_WITHOUT_STATE = "`train_test_split` without `random_state`";

function unseeded(call: CallSite, key: string): boolean {
  const v = call.keywords.get(key);
  return v === undefined ? !call.hasSplat : literal(v)?.kind === "none";
}

/** A call that draws from a global or unseeded random source, with a short name for the message. */
function randomUse(call: CallSite): string | undefined {
  const name = call.name;
  if (call.imported && name) {
    if (TORCH_RANDOM.test(name)) return `\`${name}\``;
    if (/^(numpy\.random|random)\.\w+$/.test(name) && !NOT_DRAWS.test(name)) {
      // A generator built with a seed is seeded; built without one it is as random as the globals.
      if (call.is(...SEEDABLE_GENERATORS) && (call.args.length > 0 || call.keywords.has("seed")))
        return undefined;
      return `\`${name}\``;
    }
    // `random_split(ds, lengths)` without `generator=` assigns rows from torch's global generator.
    if (call.is("torch.utils.data.random_split"))
      return unseeded(call, "generator") && call.args.length < 3
        ? "`torch.utils.data.random_split`"
        : undefined;
    if (call.is("sklearn.model_selection.train_test_split")) {
      // `shuffle=False` takes the rows in order: nothing random.
      if (boolValue(call.keywords.get("shuffle")) === false) return undefined;
      return unseeded(call, "random_state") ? SPLIT_WITHOUT_STATE : undefined;
    }
  }
  const shuffle = call.keywords.get("shuffle");
  if (shuffle && boolValue(shuffle) === true && unseeded(call, "random_state") && unseeded(call, "seed"))
    return "`shuffle=True`";
  if (call.method === "sample" && !call.imported && (call.keywords.has("frac") || call.keywords.has("n")))
    return unseeded(call, "random_state") ? "`.sample(...)` without `random_state`" : undefined;
  return undefined;
}

function seedAdvice(py: PythonModel): string {
  if (py.importsModule("lightning.pytorch", "lightning.fabric"))
    return "Lightning's `seed_everything(42, workers=True)` (it seeds `random`, NumPy and torch)";
  if (py.importsModule("transformers")) return "`transformers.set_seed(42)`";
  if (py.importsModule("keras", "tensorflow"))
    return "`keras.utils.set_random_seed(42)` (Python, NumPy and TensorFlow)";
  if (py.importsModule("torch")) return "`random.seed(42)`, `np.random.seed(42)` and `torch.manual_seed(42)`";
  return "`random.seed(42)` and `np.random.seed(42)`, or pass `random_state=` to each random call";
}

// Training whose initial weights come from the framework's global RNG.
const WEIGHT_INIT_KINDS = new Set(["loop", "lightning", "keras"]);

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (!isEntryPoint(py, ctx.path) || seedingCalls(py).length > 0) return;
  const uses: { at: Span; what: string }[] = [];
  for (const call of py.calls) {
    const what = randomUse(call);
    if (!what || INCIDENTAL.test(statementOf(call.node).text)) continue;
    // `shuffle=True` may sit lines below the call's name: report the argument itself.
    const shuffle = what === "`shuffle=True`" ? call.keywords.get("shuffle")?.parent : undefined;
    uses.push({ at: shuffle ? spanOf(shuffle) : call, what });
  }
  const training = trainingSites(py).filter(
    (t) => WEIGHT_INIT_KINDS.has(t.kind) && (t.kind !== "loop" || py.importsModule("torch")),
  );
  if (uses.length === 0 && training.length === 0) return;
  // Draws count when the run's result depends on them: training, or a split/shuffle of the data.
  // Permutations and samples pick rows; plain value draws may be dummy inputs for an export.
  const shapesData = uses.some(
    (u) =>
      !/^`(torch|numpy\.random|random)\./.test(u.what) ||
      /\.(permutation|shuffle|choice|choices|sample|randperm|random_split)`$/.test(u.what),
  );
  // `rng = np.random.default_rng()` then `rng.permutation(n)`: an unseeded generator that picks rows.
  const unseededGenerators = new Set(
    py.assignments
      .filter((a) => {
        if (a.targets.length !== 1 || a.value?.type !== "call") return false;
        const c = py.calls.find((x) => x.node.id === a.value?.id);
        return c?.is(...SEEDABLE_GENERATORS) === true && c.args.length === 0 && !c.keywords.has("seed");
      })
      .map((a) => a.targets[0]),
  );
  const picksRows = py.calls.some(
    (c) =>
      c.receiver !== undefined &&
      unseededGenerators.has(c.receiver.text) &&
      /^(permutation|permuted|shuffle|choice|choices|sample|integers)$/.test(c.method ?? ""),
  );
  const trains = picksRows || training.length > 0 || py.methodCalls("fit", "backward", "train").length > 0;
  // `sklearn/split-without-random-state` already comments on an unseeded `train_test_split`:
  // report another random use instead, so one line does not get two near-identical comments.
  // An explicit random call is the clearer line to point at; the training run (whose initial
  // weights are the hidden draw) only when the change adds no such call.
  const reportable = (u: { at: Span }) => ctx.isAdded(u.at.line) && onTriggerLine(ctx, u.at.line);
  const explicit = (shapesData || trains ? uses.filter((u) => u.what !== SPLIT_WITHOUT_STATE) : []).sort(
    (a, b) => a.at.start - b.at.start,
  );
  // A Keras run is reported where its model is built (`keras.Sequential(...)`, `keras.Model(...)`),
  // where the unseeded weights are drawn, rather than on `fit`, which other rules comment on; the
  // `fit` line when the building line is not part of the change. A loaded model keeps its weights.
  const calls = training.some((t) => t.kind === "keras") ? new Calls(py) : undefined;
  const weightSites = (t: (typeof training)[number]): Span[] => {
    const built =
      calls && t.kind === "keras" && t.call ? kerasModelCall(calls, t.call.receiver, t.call) : undefined;
    return built && !/\.load_model$/.test(built.name ?? "") ? [built, t.at] : [t.at];
  };
  const first =
    explicit.find(reportable) ??
    [...training]
      .sort((a, b) => a.at.start - b.at.start)
      .flatMap(weightSites)
      .map((at) => ({ at, what: "initial weights drawn from the unseeded global RNG" }))
      .find(reportable);
  if (!first) return;
  ctx.report(first.at, {
    message:
      `This script uses randomness (${first.what}) but never sets a seed, so each run gets different splits, ` +
      "initial weights and shuffling, and its results cannot be reproduced or compared fairly. Seed once at " +
      `start-up, e.g. ${seedAdvice(py)}, ideally from a \`--seed\` option that is logged with the run.`,
  });
});
