import type { Node } from "web-tree-sitter";
import { anyNameMatches } from "../../src/engine/names.js";
import { type RayRemote, rayRemotes } from "../../src/engine/python/frameworks.js";
import { isTestPath } from "../../src/engine/python/helpers.js";
import type { PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { RESOURCE_KEYS } from "./_lib.js";

// Signs in the body that the work wants a GPU: CUDA devices, or a model being loaded or moved.
const USES_CUDA = /\.cuda\s*\(|["']cuda(?::\d+)?["']|torch\.cuda\.|device_map\s*=|\bnum_gpus\b/;
const USES_MODEL = /\bfrom_pretrained\s*\(|\btorch\.load\s*\(|\.to\s*\(\s*device\b|\bpipeline\s*\(/;
// Libraries that run their work on several threads (BLAS, OpenMP, intra-op pools), so one task
// uses more than the single CPU Ray reserves for it.
const THREADED = [
  "torch.**",
  "tensorflow.**",
  "keras.**",
  "jax.**",
  "sklearn.**",
  "xgboost.**",
  "lightgbm.**",
  "catboost.**",
  "scipy.**",
  "numpy.linalg.**",
  "numpy.dot",
  "numpy.matmul",
  "numpy.einsum",
];

function givesResources(py: PythonModel, remote: RayRemote): boolean {
  const calls = [...remote.optionCalls];
  // `ray.remote(fn).options(num_gpus=1)`: the options hang off the site itself.
  const parent = remote.site.parent;
  if (parent?.type === "attribute" && parent.childForFieldName("attribute")?.text === "options") {
    const options = py.calls.find((c) => c.callee.id === parent.id);
    if (options) calls.push(options);
  }
  return calls.some((c) => c.hasSplat || RESOURCE_KEYS.some((k) => c.keywords.has(k)));
}

/** The first multi-threaded library the body calls (resolved name), or a call given `n_jobs`. */
function threadedLibrary(py: PythonModel, def: Node): string | undefined {
  for (const call of py.callsIn(def)) {
    if (call.name && anyNameMatches(call.name, THREADED)) return call.name.split(".")[0];
    if (call.keywords.has("n_jobs")) return `${call.callee.text}(n_jobs=...)`;
  }
  return undefined;
}

type Weight = { kind: "gpu"; uses: string } | { kind: "threads"; library: string } | { kind: "light" };

function weightOf(py: PythonModel, remote: RayRemote): Weight {
  const body = remote.def.node.text;
  if (USES_CUDA.test(body)) return { kind: "gpu", uses: "uses CUDA" };
  if (USES_MODEL.test(body)) return { kind: "gpu", uses: "loads a model" };
  const library = threadedLibrary(py, remote.def.node);
  return library ? { kind: "threads", library } : { kind: "light" };
}

const TASK_DEFAULTS = "Ray reserves 1 CPU and no GPU per task";
const ACTOR_DEFAULTS = "Ray reserves 1 CPU to place an actor and none while it runs, and no GPU";

function singleMessage(remote: RayRemote, weight: Weight): string {
  const what = remote.kind === "actor" ? "actor" : "task";
  const defaults = remote.kind === "actor" ? ACTOR_DEFAULTS : TASK_DEFAULTS;
  const name = remote.def.name;
  if (weight.kind === "gpu") {
    return (
      `This ${what} ${weight.uses}, but \`${name}\` asks Ray for no resources. ` +
      `${defaults}, so it can be placed on a node without a GPU, and Ray does not assign it one (GPU ids are given ` +
      "only to tasks and actors that request `num_gpus`). Declare what it needs: `@ray.remote(num_gpus=1)` " +
      "(fractions such as 0.5 share a GPU), or `.options(num_gpus=1)` at the call site; on CPU, state `num_cpus` " +
      "and `memory` instead."
    );
  }
  if (weight.kind === "threads") {
    const packing =
      remote.kind === "actor"
        ? "so Ray packs any number of such actors onto one node and their threads compete for the same cores"
        : "so Ray runs as many at once as a node has CPUs and each one's extra threads compete with its neighbours'";
    return (
      `\`${name}\` runs \`${weight.library}\`, which can use several threads, but is made remote without ` +
      `\`num_cpus\`, \`num_gpus\` or \`resources\`. ${defaults}, ${packing}, slowing all of them down. State ` +
      "what it uses, e.g. `@ray.remote(num_cpus=4)` (and cap the library's threads to match), or pass it " +
      "through `.options(...)`."
    );
  }
  if (remote.kind === "actor") {
    return (
      `Actor \`${name}\` is made remote without \`num_cpus\`, \`num_gpus\` or \`resources\`. ${defaults}, ` +
      "so Ray will pack any number of such actors onto one node while they run, whatever CPU or memory they use. " +
      "State what it needs, e.g. `@ray.remote(num_cpus=1)`, or pass it through `.options(...)`."
    );
  }
  return (
    `\`${name}\` is made remote without \`num_cpus\`, \`num_gpus\` or \`resources\`. ${defaults}, which ` +
    "fits light single-threaded work only: multi-threaded code slows down its neighbours on an over-subscribed " +
    "node, and memory-heavy tasks are packed until the node runs out of memory. State what it needs, e.g. " +
    "`@ray.remote(num_cpus=2, memory=2 * 1024**3)`, or pass it through `.options(...)`."
  );
}

/** One message for several light remotes of a file: the first is reported, the others named. */
function groupedMessage(first: RayRemote, others: RayRemote[]): string {
  const all = [first, ...others];
  const tasks = all.filter((r) => r.kind === "task").length;
  const actors = all.length - tasks;
  const kinds =
    tasks && actors
      ? `${all.length} tasks and actors`
      : tasks
        ? `${all.length} tasks`
        : `${all.length} actors`;
  const listed = others
    .slice(0, 5)
    .map((r) => `\`${r.def.name}\` on line ${r.site.startPosition.row + 1}`)
    .join(", ");
  const more = others.length > 5 ? ` and ${others.length - 5} more` : "";
  const defaults = [
    tasks ? "1 CPU per task" : "",
    actors ? "1 CPU to place an actor and none while it runs" : "",
  ]
    .filter(Boolean)
    .join("; ");
  return (
    `\`${first.def.name}\` and ${others.length} other${others.length === 1 ? "" : "s"} in this file ` +
    `(${listed}${more}): ${kinds} made remote without \`num_cpus\`, \`num_gpus\` or \`resources\`, reported once ` +
    `here. Their bodies look light, so Ray's defaults (${defaults}; no GPU) may be what they need, but any of them that ` +
    "runs multi-threaded code, holds a lot of memory or needs a GPU should say so, e.g. " +
    "`@ray.remote(num_cpus=2, memory=2 * 1024**3)` or `@ray.remote(num_gpus=1)`, or through `.options(...)` " +
    "where it is called."
  );
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  // A report counts only on an added line (the first few lines of a multi-line `ray.remote(...)` too).
  const added = (site: Node) => {
    const first = site.startPosition.row + 1;
    const last = Math.min(site.endPosition.row + 1, first + 10);
    for (let l = first; l <= last; l++) if (ctx.isAdded(l)) return true;
    return false;
  };
  const light: RayRemote[] = [];
  const remotes = rayRemotes(py).sort((a, b) => a.site.startIndex - b.site.startIndex);
  for (const remote of remotes) {
    if (givesResources(py, remote) || !added(remote.site)) continue;
    const weight = weightOf(py, remote);
    if (weight.kind === "light") light.push(remote);
    else ctx.report(remote.site, { message: singleMessage(remote, weight) });
  }
  // Light remotes: Ray's defaults often fit, so one finding per file, not one per decorator.
  const [first, ...others] = light;
  if (!first) return;
  ctx.report(first.site, {
    message: others.length === 0 ? singleMessage(first, { kind: "light" }) : groupedMessage(first, others),
  });
});
