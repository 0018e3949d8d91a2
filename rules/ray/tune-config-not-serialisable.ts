import type { Node } from "web-tree-sitter";
import { anyNameMatches } from "../../src/engine/names.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { onTriggerLine } from "./_lib.js";

// Tune entry points and the argument that carries the search space / trial config.
const CONFIG_ARGS: { call: string[]; arg: string }[] = [
  { call: ["ray.tune.Tuner", "ray.tune.tuner.Tuner"], arg: "param_space" },
  { call: ["ray.tune.run", "ray.tune.tune.run", "ray.tune.Experiment"], arg: "config" },
];

// Objects pickle refuses: OS handles, locks, live connections and clients.
const UNPICKLABLE: { names: string[]; what: string }[] = [
  { names: ["open", "io.open", "gzip.open", "bz2.open"], what: "an open file" },
  {
    names: [
      "threading.Lock",
      "threading.RLock",
      "threading.Condition",
      "threading.Semaphore",
      "threading.BoundedSemaphore",
      "threading.Event",
      "multiprocessing.Lock",
      "multiprocessing.RLock",
      "multiprocessing.Queue",
      "multiprocessing.Pool",
      "multiprocessing.Manager",
    ],
    what: "a lock or process primitive",
  },
  {
    names: [
      "socket.socket",
      "socket.create_connection",
      "sqlite3.connect",
      "psycopg2.connect",
      "pymysql.connect",
      "pymongo.MongoClient",
      "boto3.client",
      "boto3.resource",
      "boto3.Session",
      "boto3.session.Session",
      "google.cloud.**.Client",
      "mlflow.MlflowClient",
      "mlflow.tracking.MlflowClient",
    ],
    what: "a connection or client object",
  },
];

interface Offender {
  node: Node;
  /** Where the object was created, when the config names it through a variable. */
  origin?: Node;
  key: string;
  what: string;
}

function classify(py: PythonModel, node: Node): string | undefined {
  if (node.type === "lambda") return "lambda";
  if (node.type === "generator_expression") return "a generator";
  if (node.type !== "call") return undefined;
  const name = py.resolve(node.childForFieldName("function") ?? node);
  return UNPICKLABLE.find((u) => anyNameMatches(name, u.names))?.what;
}

/** True when the node is a value inside a config literal: a dict entry, a list item or a `dict(k=...)` keyword. */
function isEntryValue(node: Node): boolean {
  const parent = node.parent;
  if (!parent) return false;
  if (parent.type === "pair") return parent.childForFieldName("value")?.id === node.id;
  if (parent.type === "list" || parent.type === "tuple") return true;
  if (parent.type === "keyword_argument") {
    const call = parent.parent?.parent;
    return call?.type === "call" && call.childForFieldName("function")?.text === "dict";
  }
  return false;
}

/** Values inside a config expression that Tune cannot serialise, with the key each sits under. */
function offenders(
  py: PythonModel,
  expr: Node,
  at: CallSite,
  key: string,
  depth: number,
  out: Offender[],
): void {
  const what = classify(py, expr);
  if (what) {
    out.push({ node: expr, key, what });
    return;
  }
  switch (expr.type) {
    case "dictionary":
      for (const pair of expr.namedChildren) {
        if (pair?.type !== "pair") continue;
        const k = pair.childForFieldName("key");
        const v = pair.childForFieldName("value");
        if (v) offenders(py, v, at, k?.text.replace(/^["']|["']$/g, "") ?? key, depth, out);
      }
      return;
    case "list":
    case "tuple":
      for (const item of expr.namedChildren) if (item) offenders(py, item, at, key, depth, out);
      return;
    case "call": {
      // `dict(a=1, ...)` is a config; any other call (`tune.choice`, `tune.sample_from(lambda ...)`) is opaque.
      if (expr.childForFieldName("function")?.text !== "dict") return;
      for (const arg of expr.childForFieldName("arguments")?.namedChildren ?? []) {
        if (arg?.type !== "keyword_argument") continue;
        const v = arg.childForFieldName("value");
        if (v) offenders(py, v, at, arg.childForFieldName("name")?.text ?? key, depth, out);
      }
      return;
    }
    case "identifier": {
      if (depth > 2) return;
      // In the same function, else a module-level search space used from `main()`.
      const a =
        py.lastAssignment(expr.text, at) ??
        py.assignments.filter((m) => m.targets.includes(expr.text) && py.isModuleLevel(m)).pop();
      if (a?.op !== "=" || a.targets.length !== 1 || !a.value) return;
      // `"lock": lock` with `lock = threading.Lock()` above: the entry that puts it in the config is the finding.
      const direct = classify(py, a.value);
      if (direct && isEntryValue(expr)) {
        out.push({ node: expr, origin: a.value, key, what: direct });
        return;
      }
      offenders(py, a.value, at, key, depth + 1, out);
      // `config["lr_fn"] = lambda ...` after the literal, in the literal's scope.
      const scope = py.functionAt(a);
      const until = scope === py.functionAt(at) ? at.start : (scope?.end ?? Number.MAX_SAFE_INTEGER);
      for (const b of py.assignments) {
        if (b.start <= a.start || b.start >= until || py.functionAt(b) !== scope) continue;
        const t = b.targets[0];
        if (b.targets.length === 1 && t.startsWith(`${expr.text}[`) && b.value) {
          offenders(
            py,
            b.value,
            at,
            t.slice(expr.text.length + 1, -1).replace(/^["']|["']$/g, ""),
            depth + 1,
            out,
          );
        }
      }
      return;
    }
  }
}

// Keys that name a function the trainable is meant to call (RLlib's `policy_mapping_fn`,
// `env_creator`, callbacks): a lambda there is the value, not a search space.
const FUNCTION_KEY = /(?:^|_)(?:fn|func|function|creator|factory|callbacks?|hook)$/i;

/** True when the trainable is an RLlib algorithm: a registered name such as `"PPO"`, or an RLlib class. */
function rllibTrainable(py: PythonModel, call: CallSite): boolean {
  const first = call.arg("trainable", 0) ?? call.arg("run_or_experiment", 0);
  if (!first) return false;
  if (first.type === "string") return true;
  const name = py.resolve(first);
  return name?.startsWith("ray.rllib.") ?? false;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  for (const spec of CONFIG_ARGS) {
    for (const call of py.callsTo(...spec.call)) {
      const config = call.keywords.get(spec.arg);
      if (!config) continue;
      const found: Offender[] = [];
      offenders(py, config, call, "config", 0, found);
      // RLlib configs carry functions it calls itself (policy mapping, env creators, callbacks).
      const rllib = rllibTrainable(py, call);
      for (const o of found) {
        if (o.what === "lambda" && (rllib || FUNCTION_KEY.test(o.key))) continue;
        // Findings sit on a trigger line: the entry, else where the object was made, else the Tune call.
        const target =
          [o.node, o.origin].find((n) => n && onTriggerLine(ctx, n.startPosition.row + 1)) ?? call;
        const message =
          o.what === "lambda"
            ? `The Tune config entry \`${o.key}\` is a bare lambda. Tune does not sample it: every trial receives the ` +
              "function object itself as the value, and the config saved and logged with the trial holds a function " +
              "instead of a setting. Wrap it in `tune.sample_from(lambda spec: ...)` if it should produce values, or keep " +
              "the function in the trainable and put only a name or number in the config."
            : `The Tune config entry \`${o.key}\` holds ${o.what}. Tune pickles the search space and each trial's config ` +
              "to send them to trial workers and to save experiment state for restoring, and this object cannot be " +
              "pickled, so the run fails (TypeError: cannot pickle ...). Put what is needed to create it (a path, a URL, " +
              "a name) in the config and create the object inside the trainable.";
        ctx.report(target, { message });
      }
    }
  }
});
