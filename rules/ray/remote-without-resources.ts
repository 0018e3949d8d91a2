import { type RayRemote, rayRemotes } from "../../src/engine/python/frameworks.js";
import { isTestPath } from "../../src/engine/python/helpers.js";
import type { PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { RESOURCE_KEYS } from "./_lib.js";

// Signs in the body that the work wants a GPU: CUDA devices, or a model being loaded or moved.
const USES_CUDA = /\.cuda\s*\(|["']cuda(?::\d+)?["']|torch\.cuda\.|device_map\s*=|\bnum_gpus\b/;
const USES_MODEL = /\bfrom_pretrained\s*\(|\btorch\.load\s*\(|\.to\s*\(\s*device\b|\bpipeline\s*\(/;

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

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  for (const remote of rayRemotes(py)) {
    if (givesResources(py, remote)) continue;
    const body = remote.def.node.text;
    const what = remote.kind === "actor" ? "actor" : "task";
    const defaults =
      remote.kind === "actor"
        ? "Ray reserves 1 CPU to place an actor and none while it runs, and no GPU"
        : "Ray reserves 1 CPU and no GPU per task";
    let message: string;
    if (USES_CUDA.test(body) || USES_MODEL.test(body)) {
      const uses = USES_CUDA.test(body) ? "uses CUDA" : "loads a model";
      message =
        `This ${what} ${uses}, but \`${remote.def.name}\` asks Ray for no resources. ` +
        `${defaults}, so it can be placed on a node without a GPU, and Ray does not assign it one (GPU ids are given ` +
        "only to tasks and actors that request `num_gpus`). Declare what it needs: `@ray.remote(num_gpus=1)` " +
        "(fractions such as 0.5 share a GPU), or `.options(num_gpus=1)` at the call site; on CPU, state `num_cpus` " +
        "and `memory` instead.";
    } else if (remote.kind === "actor") {
      message =
        `Actor \`${remote.def.name}\` is made remote without \`num_cpus\`, \`num_gpus\` or \`resources\`. ${defaults}, ` +
        "so Ray will pack any number of such actors onto one node while they run, whatever CPU or memory they use. " +
        "State what it needs, e.g. `@ray.remote(num_cpus=1)`, or pass it through `.options(...)`.";
    } else {
      message =
        `\`${remote.def.name}\` is made remote without \`num_cpus\`, \`num_gpus\` or \`resources\`. ${defaults}, which ` +
        "fits light single-threaded work only: multi-threaded code slows down its neighbours on an over-subscribed " +
        "node, and memory-heavy tasks are packed until the node runs out of memory. State what it needs, e.g. " +
        "`@ray.remote(num_cpus=2, memory=2 * 1024**3)`, or pass it through `.options(...)`.";
    }
    ctx.report(remote.site, { message });
  }
});
