import type { Node } from "web-tree-sitter";
import { dotted, literal } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { isEstimatorClass } from "./_lib.js";

interface SeedUse {
  /** Where the seed is passed (for `random_split`, the generator's `manual_seed` call). */
  call: CallSite;
  /** What to report: the `random_state=` argument, or the seeding call. */
  at: Node | CallSite;
  value: Node;
  key: string;
}

const SPLITTERS = ["sklearn.model_selection.*Fold", "sklearn.model_selection.*Split"];
const GLOBAL_INIT_SEEDS = [
  "torch.manual_seed",
  "torch.cuda.manual_seed",
  "torch.cuda.manual_seed_all",
  "lightning.pytorch.seed_everything",
  "lightning.fabric.seed_everything",
  "lightning.pytorch.utilities.seed.seed_everything",
  "lightning.fabric.utilities.seed.seed_everything",
  "accelerate.utils.set_seed",
  "transformers.set_seed",
  "keras.utils.set_random_seed",
  "tensorflow.random.set_seed",
  "tensorflow.set_random_seed",
];

/**
 * What identifies a seed value: a literal (`42`), a constant, attribute or config entry (`SEED`, `args.seed`, `CFG["SEED"]`)
 * anywhere in the file, or a local name within its function (two functions' `seed` parameters
 * need not hold the same value).
 */
function keyOf(py: PythonModel, node: Node): string | undefined {
  const lit = literal(node);
  if (lit?.kind === "num") return `=${lit.value}`;
  if (lit) return undefined;
  // `CFG["SEED"]`, `config["seed"]`: a config entry, the same value wherever it is read.
  if (node.type === "subscript") {
    const base = dotted(node.childForFieldName("value") ?? undefined);
    const subs = node.childrenForFieldName("subscript").filter((c): c is Node => !!c);
    const key = subs.length === 1 ? literal(subs[0]) : undefined;
    return base && key?.kind === "str" ? `${base}[${key.value}]` : undefined;
  }
  const name = dotted(node);
  if (!name) return undefined;
  if (name.includes(".") || /^[A-Z][A-Z0-9_]*$/.test(name)) return name;
  const fn = py.functionAt(node);
  return fn ? `${name}@${fn.start}` : name;
}

function use(py: PythonModel, call: CallSite, value: Node | undefined): SeedUse[] {
  const key = value && keyOf(py, value);
  if (!key || !value) return [];
  return [{ call, value, key, at: value.parent?.type === "keyword_argument" ? value.parent : call }];
}

/**
 * The `manual_seed` call that seeds a split's generator: inline (`generator=torch.Generator().manual_seed(S)`),
 * or through a name set that way (`g = torch.Generator().manual_seed(S)`) or seeded on its own line
 * (`g = torch.Generator(); g.manual_seed(S)`) before the split in the same function.
 */
function generatorSeeding(py: PythonModel, split: CallSite, gen: Node): CallSite | undefined {
  const inline = py.calls.find((g) => g.method === "manual_seed" && g.node.id === gen.id);
  if (inline || gen.type !== "identifier") return inline;
  const scope = py.functionAt(split);
  const before = (n: { start: number }) => n.start < split.start && py.functionAt(n.start) === scope;
  const bound = py.assignments.filter(
    (a) => a.targets.length === 1 && a.targets[0] === gen.text && before(a),
  );
  const last = bound[bound.length - 1];
  if (!last?.value) return undefined;
  const value = last.value;
  const direct = py.calls.find((g) => g.method === "manual_seed" && g.node.id === value.id);
  if (direct) return direct;
  return py.calls.find(
    (g) => g.method === "manual_seed" && g.receiver?.text === gen.text && g.start > last.start && before(g),
  );
}

function splitSeeds(py: PythonModel): SeedUse[] {
  const out: SeedUse[] = [];
  for (const c of py.calls) {
    if (c.is("sklearn.model_selection.train_test_split", ...SPLITTERS))
      out.push(...use(py, c, c.keywords.get("random_state")));
    else if (c.method === "sample" && !c.imported && c.keywords.has("frac"))
      out.push(...use(py, c, c.keywords.get("random_state")));
    else if (c.is("torch.utils.data.random_split")) {
      // random_split(ds, lengths, generator=torch.Generator().manual_seed(SEED))
      const gen = c.keywords.get("generator");
      if (gen) {
        const seeded = generatorSeeding(py, c, gen);
        if (seeded) out.push(...use(py, seeded, seeded.args[0]));
      }
    }
  }
  return out;
}

/**
 * Estimators that ignore `random_state` with the arguments given (scikit-learn documents it):
 * `LogisticRegression` and `Ridge` use it only for the sag/saga (and liblinear) solvers, the
 * kernel SVMs only with `probability=True`. Their seed initialises nothing.
 */
function seedIgnored(c: CallSite): boolean {
  const solver = c.keywords.get("solver");
  const solverName = solver ? literal(solver) : undefined;
  if (
    c.is(
      "sklearn.linear_model.LogisticRegression",
      "sklearn.linear_model.Ridge",
      "sklearn.linear_model.RidgeClassifier",
    )
  ) {
    if (c.hasSplat) return false;
    if (!solver) return true;
    const random = c.is("sklearn.linear_model.LogisticRegression")
      ? /^(sag|saga|liblinear)$/
      : /^(sag|saga)$/;
    return solverName?.kind === "str" && !random.test(solverName.value);
  }
  if (c.is("sklearn.svm.SVC", "sklearn.svm.NuSVC")) {
    const p = c.keywords.get("probability");
    const lit = p ? literal(p) : undefined;
    return !c.hasSplat && (p === undefined || (lit?.kind === "bool" && !lit.value));
  }
  return false;
}

// A project's own seeding helper (`set_seeds(cfg.seed)`, `seed_everything(SEED)`): it seeds torch/NumPy.
const PROJECT_SEEDER =
  /^(set_?seeds?|set_all_seeds|set_random_seeds?|seed_?everything|seed_all|seed_torch|fix_?seeds?|fix_all_seeds|same_seeds?|setup_seeds?|init_seeds?|init_random_seeds?)$/i;

function initSeeds(py: PythonModel): SeedUse[] {
  const out: SeedUse[] = [];
  for (const c of py.calls) {
    if (c.is(...GLOBAL_INIT_SEEDS)) out.push(...use(py, c, c.arg("seed", 0)));
    else if (
      c.method !== undefined &&
      PROJECT_SEEDER.test(c.method) &&
      c.args.length === 1 &&
      c.keywords.size === 0
    )
      out.push(...use(py, c, c.args[0]));
    else if (isEstimatorClass(c.name) && !seedIgnored(c))
      out.push(...use(py, c, c.keywords.get("random_state") ?? c.keywords.get("seed")));
    else if (c.is("keras.initializers.*")) out.push(...use(py, c, c.keywords.get("seed")));
  }
  return out;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const splits = splitSeeds(py);
  if (splits.length === 0) return;
  const inits = initSeeds(py);
  const done = new Set<string>();
  for (const split of splits) {
    if (done.has(split.key)) continue;
    const init = inits.find((i) => i.key === split.key && i.call !== split.call);
    if (!init) continue;
    done.add(split.key);
    // One finding per shared seed, on the reuse (the later of the two) unless only the other changed.
    const pair = init.call.start > split.call.start ? [init, split] : [split, init];
    const site = pair.find((s) =>
      ctx.isAdded("startPosition" in s.at ? s.at.startPosition.row + 1 : s.at.line),
    );
    if (!site) continue;
    const shown = split.value.text.replace(/\s+/g, "");
    ctx.report(site.at, {
      message:
        `The seed \`${shown}\` drives both the data split (line ${split.call.line}) and the model's initialisation ` +
        `(line ${init.call.line}), so varying it moves both at once and a seed sweep cannot tell split variance from ` +
        "initialisation variance. Use separate seeds (e.g. `split_seed` and `init_seed`) and vary them independently.",
    });
  }
});
