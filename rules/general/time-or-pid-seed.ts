import type { Node } from "web-tree-sitter";
import { isWithin, namesIn, statementOf } from "../../src/engine/python/helpers.js";
import type { CallSite, FunctionDef, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { SEEDABLE_GENERATORS } from "./_lib.js";

const CLOCK_OR_PID = [
  "time.time",
  "time.time_ns",
  "time.perf_counter",
  "time.perf_counter_ns",
  "time.monotonic",
  "time.monotonic_ns",
  "datetime.datetime.now",
  "datetime.datetime.utcnow",
  "datetime.datetime.today",
  "datetime.date.today",
  "pandas.Timestamp.now",
  "os.getpid",
  "os.getppid",
];
const ML_MODULES = [
  "numpy",
  "torch",
  "sklearn",
  "tensorflow",
  "keras",
  "jax",
  "lightning",
  "transformers",
  "xgboost",
  "lightgbm",
  "catboost",
  "optuna",
  "ray",
  "gymnasium",
  "gym",
];
const ML_WORDS = /\b(model|train\w*|epochs?|lr|learning_rate|dataset|hyperparam\w*|experiment)\b/;
const SEED_KEYWORDS = ["seed", "random_state", "random_seed"];
// Randomness for temporary names, ports, ids and back-off: not part of any result.
const INCIDENTAL =
  /name|port|uuid|token|secret|passw|\bids?\b|tmp|temp|sleep|jitter|backoff|retry|delay|colou?r/i;
const TRAINS = /^(backward|step|fit|train\w*|optimize|run_epoch)$/;
const SAVES = /^(save|save_checkpoint|save_model|save_pretrained|save_weights|dump|log_model|log_artifact)$/;

/** Per scope: names whose value comes from the clock or the pid, with the call it came from. */
function taintedNames(
  py: PythonModel,
  sources: CallSite[],
): Map<FunctionDef | undefined, Map<string, CallSite>> {
  const out = new Map<FunctionDef | undefined, Map<string, CallSite>>();
  for (const a of py.assignments) {
    const v = a.value;
    if (!v) continue;
    const scope = py.functionAt(a);
    let names = out.get(scope);
    const direct = sources.find((s) => isWithin(s.node, v));
    const via = direct ?? [...namesIn(v)].map((n) => names?.get(n)).find((s) => s !== undefined);
    if (!via) continue;
    if (!names) {
      names = new Map();
      out.set(scope, names);
    }
    for (const t of a.targets) if (/^\w+$/.test(t)) names.set(t, via);
  }
  return out;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const sources = py.callsTo(...CLOCK_OR_PID);
  if (sources.length === 0) return;
  const tainted = taintedNames(py, sources);
  /** The clock/pid call an expression reads, directly or through a tainted name. */
  const origin = (node: Node): CallSite | undefined =>
    sources.find((s) => isWithin(s.node, node)) ??
    [...namesIn(node)].map((n) => tainted.get(py.functionAt(node))?.get(n)).find((s) => s !== undefined);
  const reported = new Set<CallSite>();
  const report = (src: CallSite, message: string) => {
    if (reported.has(src)) return;
    reported.add(src);
    ctx.report(src, { message });
  };
  const what = (src: CallSite) => `\`${src.name}()\``;

  // A game or a captcha seeding `random` from the clock is not an experiment; a script that
  // names its model, training, learning rate or dataset is, even with only `random` imported.
  const scientific = py.importsModule(...ML_MODULES) || ML_WORDS.test(py.text);
  /** True when the scope around `at` (its function, else the module) trains or saves a model. */
  const scopeTrainsOrSaves = (at: CallSite): boolean => {
    const fn = py.functionAt(at);
    const calls = fn ? py.within(py.calls, fn) : py.calls;
    return calls.some(
      (c) => c.method !== undefined && (TRAINS.test(c.method) || SAVES.test(c.method) || c.is("torch.save")),
    );
  };
  /** `random.seed(...)` whose scope draws only names, ports and the like from `random`. */
  const seedsOnlyIncidental = (seed: CallSite): boolean => {
    if (!seed.is("random.seed")) return false;
    const fn = py.functionAt(seed);
    const draws = (fn ? py.within(py.calls, fn) : py.calls).filter(
      (c) =>
        c.start > seed.end && c.is("random.*") && !c.is("random.seed", "random.getstate", "random.setstate"),
    );
    return draws.length > 0 && draws.every((d) => INCIDENTAL.test(statementOf(d.node).text));
  };
  for (const call of py.calls) {
    if (seedsOnlyIncidental(call)) continue;
    // `df.sample(n, random_state=...)` picking rows to print or demo: nothing trained depends on it.
    if (call.method === "sample" && !call.imported && !call.keywords.has("frac") && !scopeTrainsOrSaves(call))
      continue;
    const seeding =
      (call.method !== undefined && /seed/i.test(call.method)) || call.is(...SEEDABLE_GENERATORS);
    if (!scientific && call.is("random.seed", "random.Random")) continue;
    const values = [
      ...(seeding ? call.args : []),
      ...SEED_KEYWORDS.map((k) => call.keywords.get(k)).filter((n): n is Node => n !== undefined),
    ];
    for (const v of values) {
      const src = origin(v);
      if (!src) continue;
      report(
        src,
        `${what(src)} ends up as a random seed (line ${call.line}), so every run, and every process, gets a different ` +
          "seed and results cannot be reproduced. Use a fixed seed from the config or command line, log it with " +
          "the run, and derive per-worker seeds from it (e.g. `base_seed + rank`).",
      );
    }
  }

  const decides = (body: Node): string | undefined => {
    if (/^\s*(break|return)\b/m.test(body.text)) return "stops training";
    const calls = py.within(py.calls, { start: body.startIndex, end: body.endIndex });
    if (
      calls.some(
        (c) => c.is("torch.save", "joblib.dump", "pickle.dump") || (c.method && SAVES.test(c.method)),
      )
    )
      return "decides what is saved";
    if (calls.some((c) => c.method && TRAINS.test(c.method))) return "decides what is trained";
    return undefined;
  };
  const trainsIn = (node: Node) =>
    py
      .within(py.calls, { start: node.startIndex, end: node.endIndex })
      .some((c) => c.method && TRAINS.test(c.method));

  for (const cond of py.ifs) {
    const src = origin(cond.condition);
    if (!src) continue;
    const body = cond.node.childForFieldName("consequence");
    if (!body) continue;
    const loop = py.loopsAt(cond).find((l) => trainsIn(l.body));
    const effect = decides(body);
    if (!effect || (!loop && effect === "stops training")) continue;
    report(
      src,
      `A condition on ${what(src)} ${effect} (line ${cond.line}), so what the run produces depends on how fast the ` +
        "machine is or which process it is. Decide by epochs, steps or a validation metric instead; keep wall-clock " +
        "time for logging.",
    );
  }
  for (const loop of py.loops) {
    if (loop.kind !== "while" || !loop.iter) continue;
    const src = origin(loop.iter);
    if (!src || !trainsIn(loop.body)) continue;
    report(
      src,
      `Training runs for as long as a condition on ${what(src)} holds (line ${loop.line}), so how much the model is ` +
        "trained depends on the machine's speed and load. Train for a fixed number of epochs or steps, or stop on a " +
        "validation metric.",
    );
  }
});
